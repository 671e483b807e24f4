import { describe, expect, it } from "vitest";

import type { Emulator } from "../../emulator/server";
import { admin, asUser, call, createAccessKey, useSeededEmulator } from "./helpers";

let emu: Emulator;

useSeededEmulator((started) => ({ emu } = started));

const listKeys = () => `/v1/access-keys?org_id=${emu.dynamiq.orgId}`;

describe("auth matrix on the management API", () => {
  it("accepts the bootstrap PAT", async () => {
    expect(emu.dynamiq.userPat).toMatch(/^dyn_pat_[A-Za-z0-9]{64}$/);
    const res = await asUser(emu, "GET", listKeys());
    expect(res.status).toBe(200);
  });

  it("401 without an Authorization header", async () => {
    const res = await call(emu, "GET", listKeys());
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("unauthorized");
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
  });

  it.each([["Basic dXNlcjpwYXNz"], ["Bearer"], ["Bearer a b"], ["dyn_pat_abc"]])(
    "401 for a malformed header %j",
    async (header) => {
      const res = await call(emu, "GET", listKeys(), { headers: { authorization: header } });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
    },
  );

  it("401 for an unknown token, without echoing it", async () => {
    const bogus = "dyn_pat_" + "x".repeat(64);
    const res = await call(emu, "GET", listKeys(), { token: bogus });
    expect(res.status).toBe(401);
    expect(res.text).not.toContain(bogus);
    const other = await call(emu, "GET", listKeys(), { token: "sk-something" });
    expect(other.status).toBe(401);
  });

  it("401 for an expired PAT", async () => {
    const minted = await admin(emu, "POST", "/_admin/mint", {
      kind: "pat",
      expires_at: "2020-01-01T00:00:00Z",
    });
    expect(minted.status).toBe(200);
    const res = await call(emu, "GET", listKeys(), { token: minted.body.key });
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/expired/);
  });

  it("a PAT that expires through the admin route stops authenticating", async () => {
    const minted = await admin(emu, "POST", "/_admin/mint", { kind: "pat" });
    expect((await call(emu, "GET", listKeys(), { token: minted.body.key })).status).toBe(200);
    await admin(emu, "POST", "/_admin/expire", { kind: "personal_access_token", id: minted.body.id });
    expect((await call(emu, "GET", listKeys(), { token: minted.body.key })).status).toBe(401);
  });

  it("401 for a revoked PAT", async () => {
    const created = await asUser(emu, "POST", "/v1/personal-access-tokens", { name: "short-lived" });
    const token = created.body.data.key;
    expect((await call(emu, "GET", listKeys(), { token })).status).toBe(200);
    const del = await asUser(emu, "DELETE", `/v1/personal-access-tokens/${created.body.data.id}`);
    expect(del.status).toBe(204);
    expect((await call(emu, "GET", listKeys(), { token })).status).toBe(401);
  });

  it("accepts a legacy uak_ token", async () => {
    const minted = await admin(emu, "POST", "/_admin/mint", { kind: "pat", legacy: true });
    expect(minted.body.key).toMatch(/^uak_[A-Za-z0-9]{64}$/);
    expect(minted.body.preview).toMatch(/^uak_[A-Za-z0-9]{3}\.\.\.[A-Za-z0-9]{3}$/);
    const res = await call(emu, "GET", listKeys(), { token: minted.body.key });
    expect(res.status).toBe(200);
  });

  it("403 for an Access Key on a management call, asking for a PAT", async () => {
    const key = await createAccessKey(emu);
    const res = await call(emu, "GET", listKeys(), { token: key.key });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden");
    expect(res.body.error.message).toMatch(/Personal Access Token/);
    expect(res.text).not.toContain(key.key);
  });

  it("401 (not 403) for a revoked or unknown Access Key on a management call", async () => {
    const key = await createAccessKey(emu);
    await asUser(emu, "DELETE", `/v1/access-keys/${key.id}`);
    expect((await call(emu, "GET", listKeys(), { token: key.key })).status).toBe(401);
    const unknown = "dynamiq_acc_" + "A".repeat(64);
    expect((await call(emu, "GET", listKeys(), { token: unknown })).status).toBe(401);
  });

  it("403 on an org the user is not a member of", async () => {
    const res = await asUser(emu, "GET", `/v1/access-keys?org_id=${emu.dynamiq.otherOrgId}`);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden");
    const conn = await asUser(emu, "GET", `/v1/connections?project_id=${emu.dynamiq.otherProjectId}`);
    expect(conn.status).toBe(403);
  });

  it("a second user sees its own org, not the seeded user's", async () => {
    const other = await admin(emu, "POST", "/_admin/mint", { kind: "pat", user: "other" });
    const own = await call(emu, "GET", `/v1/access-keys?org_id=${emu.dynamiq.otherOrgId}`, {
      token: other.body.key,
    });
    expect(own.status).toBe(200);
    const foreign = await call(emu, "GET", listKeys(), { token: other.body.key });
    expect(foreign.status).toBe(403);
  });

  it("error bodies carry the request id of the x-request-id header", async () => {
    const res = await call(emu, "GET", listKeys());
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(/^req_[0-9a-f]{24}$/);
    expect(res.body.error.request_id).toBe(id);
    expect(res.body.error.details).toEqual({});
  });
});

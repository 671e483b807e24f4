import { createHash } from "node:crypto";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import type { Emulator } from "../../emulator/server";
import { admin, asUser, call, createAccessKey, inDays, startQuiet } from "./helpers";

let emu: Emulator;
let logs: string[];
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "emu-keys-"));
  ({ emu, logs } = await startQuiet({ statePath: join(dir, "state.json") }));
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await admin(emu, "POST", "/_admin/reset");
});

const invoke = (key: string | undefined, serviceId = emu.dynamiq.serviceId) =>
  call(emu, "POST", `/apps/${serviceId}/invoke`, { token: key, json: { input: "Hello" } });

describe("access keys: create, format, once-shown secret", () => {
  it("creates a project-scoped key: 200, documented fields, key shown once", async () => {
    const res = await asUser(emu, "POST", "/v1/access-keys", {
      name: "prod-backend",
      org_id: emu.dynamiq.orgId,
      project_id: emu.dynamiq.projectId,
      expires_at: "2099-12-31T00:00:00Z",
    });
    expect(res.status).toBe(200);
    const data = res.body.data;
    expect(data.key).toMatch(/^dynamiq_acc_[A-Za-z0-9]{64}$/);
    const random = data.key.slice("dynamiq_acc_".length);
    expect(data.preview).toBe(`dynamiq_acc_${random.slice(0, 3)}...${random.slice(-3)}`);
    expect(data).toMatchObject({
      name: "prod-backend",
      org_id: emu.dynamiq.orgId,
      project_id: emu.dynamiq.projectId,
      expires_at: "2099-12-31T00:00:00Z",
    });
    expect(data.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof data.created_at).toBe("string");
    expect(typeof data.created_by).toBe("string");

    const got = await asUser(emu, "GET", `/v1/access-keys/${data.id}`);
    expect(got.status).toBe(200);
    expect(got.body.data.key).toBeUndefined();
    expect(got.text).not.toContain(data.key);
    const { key: _key, ...meta } = data;
    expect(got.body.data).toEqual(meta);

    const list = await asUser(emu, "GET", `/v1/access-keys?org_id=${emu.dynamiq.orgId}`);
    expect(list.text).not.toContain(data.key);
    expect(list.body.data[0].key).toBeUndefined();
  });

  it("org-wide key has project_id null and expires_at null when omitted", async () => {
    const data = await createAccessKey(emu, { name: "org wide" });
    expect(data.project_id).toBeNull();
    expect(data.expires_at).toBeNull();
  });

  it("stores only the SHA-512 fingerprint and preview, never the secret", async () => {
    const data = await createAccessKey(emu);
    const state = readFileSync(join(dir, "state.json"), "utf8");
    expect(state).not.toContain(data.key);
    expect(state).toContain(createHash("sha512").update(data.key).digest("hex"));
    expect(logs.join("\n")).not.toContain(data.key);
    const records = await admin(emu, "GET", "/_admin/records?kind=access_key");
    expect(records.text).not.toContain(data.key);
    expect(records.text).not.toContain("fingerprint");
  });
});

describe("access keys: validation", () => {
  it.each([["a"], ["prod-backend"], ["My key v1.2 / team_a's-key"], ["9"], ["x".repeat(128)]])(
    "accepts the name %j",
    async (name) => {
      const res = await asUser(emu, "POST", "/v1/access-keys", { name, org_id: emu.dynamiq.orgId });
      expect(res.status).toBe(200);
    },
  );

  it.each([
    [""],
    ["-leading"],
    ["trailing-"],
    [" space"],
    ["bad!char"],
    ["tab\tinside"],
    ["x".repeat(129)],
    [42],
    [null],
  ])("rejects the name %j with 400 validation_error naming the field", async (name) => {
    const res = await asUser(emu, "POST", "/v1/access-keys", { name, org_id: emu.dynamiq.orgId });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation_error");
    expect(res.body.error.details.field).toBe("name");
    expect(res.body.error.message).toContain("name");
  });

  it.each([
    ["2020-01-01T00:00:00Z", /future/],
    ["2099-12-31", /RFC 3339/],
    ["2099-02-30T00:00:00Z", /RFC 3339/],
    ["next tuesday", /RFC 3339/],
    [12345, /RFC 3339/],
  ])("rejects expires_at %j", async (expires_at, message) => {
    const res = await asUser(emu, "POST", "/v1/access-keys", {
      name: "k",
      org_id: emu.dynamiq.orgId,
      expires_at,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation_error");
    expect(res.body.error.details.field).toBe("expires_at");
    expect(res.body.error.message).toMatch(message);
  });

  it("accepts an RFC 3339 offset and normalises it to UTC", async () => {
    const data = await createAccessKey(emu, { expires_at: "2099-06-01T12:00:00+02:00" });
    expect(data.expires_at).toBe("2099-06-01T10:00:00Z");
  });

  it("400 project_not_found when project_id is not in org_id", async () => {
    for (const project_id of [emu.dynamiq.otherProjectId, "00000000-0000-4000-8000-000000000000"]) {
      const res = await asUser(emu, "POST", "/v1/access-keys", {
        name: "k",
        org_id: emu.dynamiq.orgId,
        project_id,
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("project_not_found");
    }
  });

  it("403 when the user is not a member of org_id; 400 when org_id is missing", async () => {
    const res = await asUser(emu, "POST", "/v1/access-keys", { name: "k", org_id: emu.dynamiq.otherOrgId });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden");
    const missing = await asUser(emu, "POST", "/v1/access-keys", { name: "k" });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.field).toBe("org_id");
  });

  it("GET/DELETE of a key in another org is 403, unknown is 404", async () => {
    const other = await admin(emu, "POST", "/_admin/mint", { kind: "pat", user: "other" });
    const created = await call(emu, "POST", "/v1/access-keys", {
      token: other.body.key,
      json: { name: "theirs", org_id: emu.dynamiq.otherOrgId },
    });
    expect(created.status).toBe(200);
    expect((await asUser(emu, "GET", `/v1/access-keys/${created.body.data.id}`)).status).toBe(403);
    expect((await asUser(emu, "DELETE", `/v1/access-keys/${created.body.data.id}`)).status).toBe(403);
    const unknown = await asUser(emu, "GET", "/v1/access-keys/00000000-0000-4000-8000-000000000000");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("not_found");
  });
});

describe("access keys: list and pagination", () => {
  it("org_id is required", async () => {
    const res = await asUser(emu, "GET", "/v1/access-keys");
    expect(res.status).toBe(400);
    expect(res.body.error.details.field).toBe("org_id");
  });

  it("pages with default 25, honours page/page_size, caps page_size at 500", async () => {
    for (let i = 0; i < 30; i++) await createAccessKey(emu, { name: `key-${i}` });
    const first = await asUser(emu, "GET", `/v1/access-keys?org_id=${emu.dynamiq.orgId}`);
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(25);
    expect(first.body.pagination).toEqual({ page: 1, page_size: 25, page_count: 2, total_count: 30 });
    expect(first.body.data[0].name).toBe("key-0");

    const second = await asUser(emu, "GET", `/v1/access-keys?org_id=${emu.dynamiq.orgId}&page=2`);
    expect(second.body.data.map((k: { name: string }) => k.name)).toEqual([
      "key-25",
      "key-26",
      "key-27",
      "key-28",
      "key-29",
    ]);

    const all = await asUser(emu, "GET", `/v1/access-keys?org_id=${emu.dynamiq.orgId}&page_size=500`);
    expect(all.body.data).toHaveLength(30);
    expect(all.body.pagination.page_count).toBe(1);

    const beyond = await asUser(emu, "GET", `/v1/access-keys?org_id=${emu.dynamiq.orgId}&page=9`);
    expect(beyond.body.data).toEqual([]);

    for (const q of ["page_size=501", "page_size=0", "page=0", "page=abc", "page_size=-1"]) {
      const bad = await asUser(emu, "GET", `/v1/access-keys?org_id=${emu.dynamiq.orgId}&${q}`);
      expect(bad.status, q).toBe(400);
      expect(bad.body.error.code).toBe("validation_error");
    }
  });
});

describe("access keys: revocation at the deployed endpoint", () => {
  it("a key works at the deployed endpoint until deleted, then 401 at once", async () => {
    const data = await createAccessKey(emu, { project_id: emu.dynamiq.projectId });
    const ok = await invoke(data.key);
    expect(ok.status).toBe(200);
    expect(ok.body.data).toMatchObject({
      ok: true,
      service_id: emu.dynamiq.serviceId,
      access_key_id: data.id,
    });

    const del = await asUser(emu, "DELETE", `/v1/access-keys/${data.id}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe("");
    expect((await invoke(data.key)).status).toBe(401);
    expect((await asUser(emu, "GET", `/v1/access-keys/${data.id}`)).status).toBe(404);
    expect((await asUser(emu, "DELETE", `/v1/access-keys/${data.id}`)).status).toBe(404);
  });

  it("org-wide keys work for every project of the org; foreign scopes get 403", async () => {
    const orgWide = await createAccessKey(emu);
    expect((await invoke(orgWide.key)).status).toBe(200);

    const svc = await admin(emu, "POST", "/_admin/services", { name: "second" });
    const scoped = await createAccessKey(emu, { project_id: emu.dynamiq.projectId });
    expect((await invoke(scoped.key, svc.body.id)).status).toBe(200);

    const other = await admin(emu, "POST", "/_admin/mint", { kind: "pat", user: "other" });
    const foreign = await call(emu, "POST", "/v1/access-keys", {
      token: other.body.key,
      json: { name: "b-key", org_id: emu.dynamiq.otherOrgId },
    });
    const res = await invoke(foreign.body.data.key);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden");

    const bSvc = await admin(emu, "POST", "/_admin/services", { project_id: emu.dynamiq.otherProjectId });
    expect((await invoke(scoped.key, bSvc.body.id)).status).toBe(403);
    expect((await invoke(foreign.body.data.key, bSvc.body.id)).status).toBe(200);
  });

  it("expired, unknown, missing keys and PATs get 401 at the deployed endpoint", async () => {
    const data = await createAccessKey(emu, { expires_at: inDays(1) });
    expect((await invoke(data.key)).status).toBe(200);
    await admin(emu, "POST", "/_admin/expire", { kind: "access_key", id: data.id });
    expect((await invoke(data.key)).status).toBe(401);
    expect((await invoke("dynamiq_acc_" + "Z".repeat(64))).status).toBe(401);
    expect((await invoke(undefined)).status).toBe(401);
    expect((await invoke(emu.dynamiq.userPat)).status).toBe(401);
    const unknownService = await invoke(
      (await createAccessKey(emu)).key,
      "00000000-0000-4000-8000-000000000000",
    );
    expect(unknownService.status).toBe(404);
  });
});

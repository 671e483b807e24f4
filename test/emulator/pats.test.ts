import { describe, expect, it } from "vitest";

import type { Emulator } from "../../emulator/server";
import { admin, asUser, call, createAccessKey, useSeededEmulator } from "./helpers";

let emu: Emulator;

useSeededEmulator((started) => ({ emu } = started));

describe("personal access tokens", () => {
  it("create returns 200 with the secret once; GET and list never return it", async () => {
    const res = await asUser(emu, "POST", "/v1/personal-access-tokens", {
      name: "ci token",
      expires_at: "2099-01-01T00:00:00Z",
    });
    expect(res.status).toBe(200);
    const data = res.body.data;
    expect(data.key).toMatch(/^dyn_pat_[A-Za-z0-9]{64}$/);
    const random = data.key.slice("dyn_pat_".length);
    expect(data.preview).toBe(`dyn_pat_${random.slice(0, 3)}...${random.slice(-3)}`);
    expect(data).toMatchObject({ name: "ci token", expires_at: "2099-01-01T00:00:00Z" });

    const got = await asUser(emu, "GET", `/v1/personal-access-tokens/${data.id}`);
    expect(got.status).toBe(200);
    expect(got.body.data.key).toBeUndefined();
    expect(got.text).not.toContain(data.key);

    const list = await asUser(emu, "GET", "/v1/personal-access-tokens");
    expect(list.status).toBe(200);
    expect(list.body.data.map((t: { name: string }) => t.name)).toEqual(["bootstrap", "ci token"]);
    expect(list.body.pagination).toEqual({ page: 1, page_size: 25, page_count: 1, total_count: 2 });
    expect(list.text).not.toContain(data.key);
    expect(list.text).not.toContain(emu.dynamiq.userPat);

    expect((await call(emu, "GET", "/v1/personal-access-tokens", { token: data.key })).status).toBe(200);
  });

  it("applies the name and expiry rules", async () => {
    const badName = await asUser(emu, "POST", "/v1/personal-access-tokens", { name: "-x" });
    expect(badName.status).toBe(400);
    expect(badName.body.error.details.field).toBe("name");
    const past = await asUser(emu, "POST", "/v1/personal-access-tokens", {
      name: "x",
      expires_at: "2001-01-01T00:00:00Z",
    });
    expect(past.status).toBe(400);
    expect(past.body.error.details.field).toBe("expires_at");
  });

  it("an Access Key cannot manage PATs (403)", async () => {
    const key = await createAccessKey(emu);
    for (const [method, path] of [
      ["GET", "/v1/personal-access-tokens"],
      ["POST", "/v1/personal-access-tokens"],
    ]) {
      const res = await call(emu, method, path, { token: key.key, json: { name: "nope" } });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("forbidden");
    }
  });

  it("another user's token is 404; lists only show the caller's tokens", async () => {
    const other = await admin(emu, "POST", "/_admin/mint", { kind: "pat", user: "other", name: "theirs" });
    expect((await asUser(emu, "GET", `/v1/personal-access-tokens/${other.body.id}`)).status).toBe(404);
    expect((await asUser(emu, "DELETE", `/v1/personal-access-tokens/${other.body.id}`)).status).toBe(404);
    const theirList = await call(emu, "GET", "/v1/personal-access-tokens", { token: other.body.key });
    expect(theirList.body.data.map((t: { name: string }) => t.name)).toEqual(["theirs"]);
  });

  it("a PAT may revoke itself; the next call with it is 401", async () => {
    const created = await asUser(emu, "POST", "/v1/personal-access-tokens", { name: "self" });
    const token = created.body.data.key;
    const del = await call(emu, "DELETE", `/v1/personal-access-tokens/${created.body.data.id}`, { token });
    expect(del.status).toBe(204);
    expect((await call(emu, "GET", "/v1/personal-access-tokens", { token })).status).toBe(401);
  });

  it("paginates past 500 records; page_size above 500 is 400", async () => {
    for (let i = 0; i < 510; i++) await admin(emu, "POST", "/_admin/mint", { kind: "pat", name: `t${i}` });
    const page1 = await asUser(emu, "GET", "/v1/personal-access-tokens?page_size=500");
    expect(page1.body.data).toHaveLength(500);
    expect(page1.body.pagination).toEqual({ page: 1, page_size: 500, page_count: 2, total_count: 511 });
    const page2 = await asUser(emu, "GET", "/v1/personal-access-tokens?page_size=500&page=2");
    expect(page2.body.data).toHaveLength(11);
    expect(page2.body.data.at(-1).name).toBe("t509");
    const tooBig = await asUser(emu, "GET", "/v1/personal-access-tokens?page_size=501");
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.error.details.field).toBe("page_size");
  });
});

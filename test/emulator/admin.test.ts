import * as http from "node:http";
import { networkInterfaces } from "node:os";

import { describe, expect, it } from "vitest";

import type { Emulator } from "../../emulator/server";
import { admin, asUser, call, createAccessKey, startQuiet, type Json, useSeededEmulator } from "./helpers";

let emu: Emulator;

useSeededEmulator((started) => ({ emu } = started));

async function newConnection(): Promise<Json> {
  const res = await asUser(emu, "POST", "/v1/connections", {
    name: "pg",
    project_id: emu.dynamiq.projectId,
    type: "dynamiq.connections.PostgreSQL",
    config: { host: "db.internal", password: "pw" },
  });
  return res.body.data;
}

describe("reset and seed", () => {
  it("reset drops everything created but keeps the seed ids and the bootstrap PAT", async () => {
    const key = await createAccessKey(emu);
    const seedBefore = (await admin(emu, "GET", "/_admin/seed")).body;
    expect(seedBefore).toMatchObject(emu.dynamiq);
    const reset = await admin(emu, "POST", "/_admin/reset");
    expect(reset.status).toBe(200);
    expect(reset.body.seed).toEqual(seedBefore);
    expect((await asUser(emu, "GET", `/v1/access-keys/${key.id}`)).status).toBe(404);
    expect((await asUser(emu, "GET", `/v1/services/${emu.dynamiq.serviceId}`)).status).toBe(200);
  });

  it("reset restores a deleted bootstrap PAT", async () => {
    const seed = (await admin(emu, "GET", "/_admin/seed")).body;
    await asUser(emu, "DELETE", `/v1/personal-access-tokens/${seed.bootstrapPatId}`);
    expect((await asUser(emu, "GET", "/v1/personal-access-tokens")).status).toBe(401);
    await admin(emu, "POST", "/_admin/reset");
    expect((await asUser(emu, "GET", "/v1/personal-access-tokens")).status).toBe(200);
  });
});

describe("out-of-band changes", () => {
  it("tamper changes a connection's name/config/status and bumps updated_at", async () => {
    const c = await newConnection();
    await new Promise((r) => setTimeout(r, 5));
    const res = await admin(emu, "POST", "/_admin/tamper", {
      kind: "connection",
      id: c.id,
      patch: { name: "drifted", config: { host: "elsewhere", password: "changed" }, status: "expired" },
    });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain("changed");
    const got = (await asUser(emu, "GET", `/v1/connections/${c.id}`)).body.data;
    expect(got).toMatchObject({ name: "drifted", config: { host: "elsewhere" }, status: "expired" });
    expect(got.updated_at).not.toBe(c.updated_at);
    const creds = await asUser(emu, "POST", `/v1/connections/${c.id}/credentials`);
    expect(creds.body.data.config.password).toBe("changed");
  });

  it("tamper rejects unknown fields without changing anything", async () => {
    const key = await createAccessKey(emu, { name: "orig" });
    const res = await admin(emu, "POST", "/_admin/tamper", {
      kind: "access_key",
      id: key.id,
      patch: { name: "new", fingerprint: "x" },
    });
    expect(res.status).toBe(400);
    expect((await asUser(emu, "GET", `/v1/access-keys/${key.id}`)).body.data.name).toBe("orig");
    const ok = await admin(emu, "POST", "/_admin/tamper", {
      kind: "access_key",
      id: key.id,
      patch: { name: "new" },
    });
    expect(ok.body.name).toBe("new");
    expect((await admin(emu, "POST", "/_admin/tamper", { kind: "nope", id: key.id, patch: {} })).status).toBe(
      400,
    );
    const missing = await admin(emu, "POST", "/_admin/tamper", { kind: "access_key", id: "x", patch: {} });
    expect(missing.status).toBe(404);
  });

  it("tamper a deployment and a PAT", async () => {
    const d = (await asUser(emu, "POST", `/v1/services/${emu.dynamiq.serviceId}/deploy`, { image: "i" })).body
      .data;
    await admin(emu, "POST", "/_admin/tamper", {
      kind: "deployment",
      id: d.id,
      patch: { status: "failed", message: "oom" },
    });
    const got = await asUser(emu, "GET", `/v1/services/${emu.dynamiq.serviceId}/deployments/${d.id}`);
    expect(got.body.data).toMatchObject({ status: "failed", message: "oom" });
    const pat = await admin(emu, "POST", "/_admin/mint", { kind: "pat" });
    await admin(emu, "POST", "/_admin/tamper", {
      kind: "personal_access_token",
      id: pat.body.id,
      patch: { name: "renamed" },
    });
    expect((await asUser(emu, "GET", `/v1/personal-access-tokens/${pat.body.id}`)).body.data.name).toBe(
      "renamed",
    );
  });

  it("delete removes a record out of band", async () => {
    const c = await newConnection();
    const key = await createAccessKey(emu);
    expect((await admin(emu, "POST", "/_admin/delete", { kind: "connection", id: c.id })).status).toBe(200);
    expect((await admin(emu, "POST", "/_admin/delete", { kind: "access_key", id: key.id })).status).toBe(200);
    expect((await asUser(emu, "GET", `/v1/connections/${c.id}`)).status).toBe(404);
    expect(
      (await call(emu, "POST", `/apps/${emu.dynamiq.serviceId}/invoke`, { token: key.key })).status,
    ).toBe(401);
    expect((await admin(emu, "POST", "/_admin/delete", { kind: "connection", id: c.id })).status).toBe(404);
  });

  it("age moves created_at back (and expires_at with shiftExpiry); expire sets a past expiry", async () => {
    const key = await createAccessKey(emu, { expires_at: "2099-01-31T00:00:00Z" });
    const aged = await admin(emu, "POST", "/_admin/age", { kind: "access_key", id: key.id, days: 30 });
    expect(Date.parse(key.created_at) - Date.parse(aged.body.created_at)).toBe(30 * 86_400_000);
    expect(aged.body.expires_at).toBe("2099-01-31T00:00:00Z");
    const shifted = await admin(emu, "POST", "/_admin/age", {
      kind: "access_key",
      id: key.id,
      days: 30,
      shiftExpiry: true,
    });
    expect(shifted.body.expires_at).toBe("2099-01-01T00:00:00Z");
    const expired = await admin(emu, "POST", "/_admin/expire", { kind: "access_key", id: key.id });
    expect(Date.parse(expired.body.expires_at)).toBeLessThan(Date.now());
    const got = await asUser(emu, "GET", `/v1/access-keys/${key.id}`);
    expect(got.body.data.expires_at).toBe(expired.body.expires_at);
  });

  it("records lists raw records without secrets", async () => {
    const c = await newConnection();
    await admin(emu, "POST", `/_admin/connections/${c.id}/in-use`, { inUse: true });
    const res = await admin(emu, "GET", "/_admin/records?kind=connection");
    const rec = res.body.records.find((r: Json) => r.id === c.id);
    expect(rec).toMatchObject({ in_use: true, config: { host: "db.internal" } });
    expect(res.text).not.toContain('"pw"');
    const pats = await admin(emu, "GET", "/_admin/records?kind=personal_access_token");
    expect(pats.body.records).toHaveLength(1);
    expect(pats.text).not.toContain(emu.dynamiq.userPat);
    for (const kind of ["deployment", "service", "user", "org", "project", "access_key"]) {
      expect((await admin(emu, "GET", `/_admin/records?kind=${kind}`)).status).toBe(200);
    }
    expect((await admin(emu, "GET", "/_admin/records?kind=bogus")).status).toBe(400);
  });

  it("finish-deploys settles pending deployments at once", async () => {
    await admin(emu, "POST", `/_admin/services/${emu.dynamiq.serviceId}/deploy-delay`, { ms: 60_000 });
    const d = (await asUser(emu, "POST", `/v1/services/${emu.dynamiq.serviceId}/deploy`, { image: "i" })).body
      .data;
    const res = await admin(emu, "POST", `/_admin/services/${emu.dynamiq.serviceId}/finish-deploys`);
    expect(res.body.finished).toEqual([d.id]);
    const got = await asUser(emu, "GET", `/v1/services/${emu.dynamiq.serviceId}/deployments/${d.id}`);
    expect(got.body.data.status).toBe("succeeded");
    expect((await admin(emu, "POST", `/_admin/services/x/deploy-delay`, { ms: 1 })).status).toBe(404);
    expect(
      (await admin(emu, "POST", `/_admin/services/${emu.dynamiq.serviceId}/deploy-delay`, { ms: -1 })).status,
    ).toBe(400);
  });
});

describe("request counters", () => {
  it("count non-admin requests by method and route template, plus TCP connections", async () => {
    await admin(emu, "DELETE", "/_admin/requests");
    const c = await newConnection();
    await asUser(emu, "GET", `/v1/connections/${c.id}`);
    await asUser(emu, "GET", `/v1/connections/${c.id}`);
    await createAccessKey(emu);
    await asUser(emu, "GET", "/v1/nothing-here");
    const res = await admin(emu, "GET", "/_admin/requests");
    expect(res.body.total).toBe(5);
    expect(res.body.routes).toEqual({
      "POST /v1/connections": 1,
      "GET /v1/connections/:id": 2,
      "POST /v1/access-keys": 1,
      "GET (unmatched)": 1,
    });
    // Management calls per user whose token made them (the unmatched route authenticates nobody).
    const seed = await admin(emu, "GET", "/_admin/seed");
    expect(res.body.callers).toEqual({ [seed.body.userId as string]: 4 });
    await admin(emu, "DELETE", "/_admin/requests");
    // Two requests on fresh sockets (no keep-alive agent) are two TCP connections.
    for (let i = 0; i < 2; i++) {
      await new Promise<void>((resolve, reject) => {
        http
          .get(`${emu.baseUrl}/v1/access-keys`, { agent: false }, (r) => r.resume().on("end", resolve))
          .on("error", reject);
      });
    }
    const fresh = await admin(emu, "GET", "/_admin/requests");
    expect(fresh.body.total).toBe(2);
    expect(fresh.body.routes).toEqual({ "GET /v1/access-keys": 2 });
    expect(fresh.body.connections).toBeGreaterThanOrEqual(2);
    await admin(emu, "DELETE", "/_admin/requests");
    const after = await admin(emu, "GET", "/_admin/requests");
    expect(after.body).toEqual({ total: 0, routes: {}, connections: 0, callers: {} });
  });

  it("lists its route table", async () => {
    const res = await admin(emu, "GET", "/_admin/routes");
    const names = res.body.routes.map((r: Json) => `${r.method} ${r.path}`);
    expect(names).toContain("POST /v1/connections/:id/oauth2/authorize");
    expect(names).toContain("POST /apps/:service_id/invoke");
  });
});

describe("admin surface is loopback only", () => {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal);

  it.skipIf(!external)("refuses admin calls from a non-loopback address", async () => {
    const { emu: wide } = await startQuiet({ host: "0.0.0.0" });
    try {
      const port = new URL(wide.baseUrl).port;
      const res = await fetch(`http://${external!.address}:${port}/_admin/seed`);
      expect(res.status).toBe(403);
      const local = await fetch(`http://127.0.0.1:${port}/_admin/seed`);
      expect(local.status).toBe(200);
    } finally {
      await wide.close();
    }
  });
});

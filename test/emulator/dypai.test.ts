import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import type { Emulator } from "../../emulator/server";
import { fernetDecrypt } from "../../emulator/routes/dypai";
import { admin, call, startQuiet, type Json, type Res, useSeededEmulator } from "./helpers";

let emu: Emulator;

useSeededEmulator((started) => ({ emu } = started));

function dy(method: string, path: string, json?: unknown, token?: string): Promise<Res> {
  return call(emu, method, `/dypai${path}`, { json, token: token ?? emu.dypai.token });
}

const eng = () => emu.dypai.engineId;
const secretsPath = (name?: string, engine = eng()) =>
  `/api/engine/${engine}/secrets${name === undefined ? "" : `/${name}`}`;
const decrypted = async (engine = eng()): Promise<Json> =>
  (await admin(emu, "GET", `/_admin/dypai/engines/${engine}/secrets`)).body.secrets;

describe("DYPAI: seed and auth", () => {
  it("exposes the seed under /dypai", () => {
    expect(emu.dypai.baseUrl).toBe(`${emu.baseUrl}/dypai`);
    expect(emu.dypai.token).toMatch(/^dypai_[A-Za-z0-9]{48}$/);
    expect(emu.dypai.engineId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("takes `Bearer <token>` only: missing or wrong is 401, unknown engine 404", async () => {
    expect((await dy("GET", secretsPath(), undefined, "dypai_wrong")).status).toBe(401);
    expect((await call(emu, "GET", `/dypai${secretsPath()}`)).status).toBe(401);
    expect((await dy("GET", secretsPath(undefined, "nope"))).status).toBe(404);
    expect((await dy("GET", secretsPath())).body).toEqual({ secrets: [] });
  });
});

describe("DYPAI: backend secrets are write-only", () => {
  it("PUT creates (201) then overwrites (200); every write takes a new version; no route returns the value", async () => {
    const created = await dy("PUT", secretsPath("STRIPE_WEBHOOK_SIGNING_KEY"), { value: "whsec_first" });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      name: "STRIPE_WEBHOOK_SIGNING_KEY",
      version: expect.any(Number),
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const over = await dy("PUT", secretsPath("STRIPE_WEBHOOK_SIGNING_KEY"), { value: "whsec_second" });
    expect(over.status).toBe(200);
    expect(over.body.version).toBeGreaterThan(created.body.version);
    expect(over.body.created_at).toBe(created.body.created_at);
    const one = await dy("GET", secretsPath("STRIPE_WEBHOOK_SIGNING_KEY"));
    const list = await dy("GET", secretsPath());
    expect(one.body).toEqual(over.body);
    expect(list.body.secrets).toEqual([over.body]);
    for (const r of [created, over, one, list]) {
      expect(r.text).not.toContain("whsec_");
      expect(r.body).not.toHaveProperty("value");
    }
    expect(await decrypted()).toEqual({
      STRIPE_WEBHOOK_SIGNING_KEY: {
        value: "whsec_second",
        version: over.body.version,
        updated_at: expect.any(String),
      },
    });
  });

  it("versions are never reused, not even after a delete and re-create", async () => {
    const a = (await dy("PUT", secretsPath("A"), { value: "one" })).body.version;
    await dy("DELETE", secretsPath("A"));
    const b = (await dy("PUT", secretsPath("A"), { value: "two" })).body.version;
    expect(b).toBeGreaterThan(a);
  });

  it("DELETE: 204, then 404; with ?version= only while the secret is still at that version (409 otherwise)", async () => {
    const v1 = (await dy("PUT", secretsPath("A"), { value: "one" })).body.version;
    const v2 = (await dy("PUT", secretsPath("A"), { value: "two" })).body.version;
    const stale = await dy("DELETE", `${secretsPath("A")}?version=${v1}`);
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe("version_mismatch");
    expect((await decrypted()).A.value).toBe("two");
    expect((await dy("DELETE", `${secretsPath("A")}?version=${v2}`)).status).toBe(204);
    expect((await dy("DELETE", secretsPath("A"))).status).toBe(404);
    expect((await dy("GET", secretsPath("A"))).status).toBe(404);
    expect((await dy("DELETE", `${secretsPath("B")}?version=abc`)).status).toBe(404);
  });

  it("validates names and values without quoting the value", async () => {
    const bad = await dy("PUT", secretsPath("1BAD"), { value: "x" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe("name");
    expect((await dy("PUT", secretsPath("A"), { value: "" })).status).toBe(400);
    expect((await dy("PUT", secretsPath("A"), { value: 42 })).status).toBe(400);
    const big = await dy("PUT", secretsPath("A"), { value: "s3cr3t".repeat(12_000) });
    expect(big.status).toBe(400);
    expect(big.text).not.toContain("s3cr3t");
    expect(await decrypted()).toEqual({});
  });
});

describe("DYPAI: Fernet at rest with a per-project key", () => {
  it("persists only Fernet tokens; each project has its own key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dypai-emu-"));
    const statePath = join(dir, "state.json");
    const { emu: persisted } = await startQuiet({ statePath });
    try {
      const other = (
        await admin(persisted, "POST", "/_admin/dypai/engines", { name: "other", newProject: true })
      ).body;
      for (const engine of [persisted.dypai.engineId, other.id]) {
        const res = await call(persisted, "PUT", `/dypai/api/engine/${engine}/secrets/SIGNING_KEY`, {
          token: persisted.dypai.token,
          json: { value: "plaintext-signing-key" },
        });
        expect(res.status).toBe(201);
      }
      const state = JSON.parse(readFileSync(statePath, "utf8"));
      const records = state.dypai.secrets as Array<{ engine_id: string; ciphertext: string }>;
      expect(JSON.stringify(state.dypai.secrets)).not.toContain("plaintext-signing-key");
      expect(records).toHaveLength(2);
      for (const r of records) expect(r.ciphertext).toMatch(/^gAAAAA/);
      const keyOf = (engineId: string) => {
        const e = state.dypai.engines.find((x: Json) => x.id === engineId);
        return state.dypai.projects.find((p: Json) => p.id === e.project_id).fernet_key as string;
      };
      const [a, b] = records;
      expect(keyOf(a.engine_id)).not.toBe(keyOf(b.engine_id));
      expect(fernetDecrypt(keyOf(a.engine_id), a.ciphertext)).toBe("plaintext-signing-key");
      expect(() => fernetDecrypt(keyOf(b.engine_id), a.ciphertext)).toThrow();
      expect(
        (await admin(persisted, "GET", `/_admin/dypai/engines/${other.id}/secrets`)).body.secrets,
      ).toEqual({
        SIGNING_KEY: {
          value: "plaintext-signing-key",
          version: expect.any(Number),
          updated_at: expect.any(String),
        },
      });
    } finally {
      await persisted.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("DYPAI: admin and counters", () => {
  it("tampers (a new version) and deletes out of band", async () => {
    const v = (await dy("PUT", secretsPath("A"), { value: "mine" })).body.version;
    const t = await admin(emu, "POST", `/_admin/dypai/engines/${eng()}/secrets/A`, { value: "theirs" });
    expect(t.body.version).toBeGreaterThan(v);
    expect((await dy("GET", secretsPath("A"))).body.version).toBe(t.body.version);
    expect((await decrypted()).A.value).toBe("theirs");
    expect((await admin(emu, "DELETE", `/_admin/dypai/engines/${eng()}/secrets/A`)).status).toBe(200);
    expect((await dy("GET", secretsPath("A"))).status).toBe(404);
    expect((await admin(emu, "DELETE", `/_admin/dypai/engines/${eng()}/secrets/A`)).status).toBe(404);
  });

  it("counts DYPAI requests by route template", async () => {
    await admin(emu, "DELETE", "/_admin/requests");
    await dy("PUT", secretsPath("A"), { value: "x1" });
    await dy("GET", secretsPath("A"));
    await decrypted();
    expect((await admin(emu, "GET", "/_admin/requests")).body.routes).toEqual({
      "PUT /dypai/api/engine/:id/secrets/:name": 1,
      "GET /dypai/api/engine/:id/secrets/:name": 1,
    });
  });

  it("reset drops secrets but keeps the seed", async () => {
    await dy("PUT", secretsPath("A"), { value: "x1" });
    const seed = (await admin(emu, "GET", "/_admin/seed")).body.dypai;
    await admin(emu, "POST", "/_admin/reset");
    expect((await admin(emu, "GET", "/_admin/seed")).body.dypai).toEqual(seed);
    expect(await decrypted()).toEqual({});
  });
});

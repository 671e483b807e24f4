import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import type { DeleteOutcome, DypaiClient, SecretMeta } from "../../provider/clients/dypai";
import { backendSecret as secret, type BackendSecretOutputs } from "../../provider/resources/backend-secret";
import { apiErrorFor } from "../../provider/errors";
import { UNKNOWN } from "../../provider/resource";
import {
  adminCall,
  contextFor,
  dyClient,
  quietEmulator,
  requestCounts,
  resetCounts,
  thrown,
} from "./companion-support";

const engineId = "7d1c9a8e-0f2b-4c3d-9e8f-1a2b3c4d5e6f";
const base = { engineId, name: "STRIPE_WEBHOOK_SIGNING_KEY", value: "whsec_abc123" };
const check = (news: Record<string, unknown>) => secret.check({}, { ...base, ...news });

describe("BackendSecret check", () => {
  it("accepts a named secret", () => {
    expect(check({})).toEqual({ inputs: base, failures: [] });
  });

  it("names the property and the rule, never quoting the value", () => {
    expect(check({ name: "stripe-key" }).failures).toEqual([
      {
        property: "name",
        reason:
          "must be a secret name usable as ${ secrets.NAME }: letters, digits and _, not starting with a digit, at most 128 characters",
      },
    ]);
    expect(check({ value: "" }).failures).toEqual([{ property: "value", reason: "must not be empty" }]);
    const big = check({ value: "hunter2".repeat(10_000) }).failures;
    expect(big).toEqual([{ property: "value", reason: "must be at most 65536 characters" }]);
    expect(check({ value: 42 }).failures[0]).toMatchObject({ property: "value" });
    expect(check({ engineId: "engine 1", extra: 1 }).failures.map((f) => f.property)).toEqual([
      "engineId",
      "extra",
    ]);
    expect(check({ engineId: undefined }).failures).toEqual([
      { property: "engineId", reason: "is required" },
    ]);
    expect(check({ engineId: UNKNOWN, name: UNKNOWN, value: UNKNOWN }).failures).toEqual([]);
  });
});

describe("BackendSecret diff", () => {
  const olds: BackendSecretOutputs = { ...base, version: 7 };
  it("no change, no call", () => {
    expect(secret.diff("id", olds, base)).toEqual({ changes: false, replaces: [], diffs: [] });
  });
  it("a new value is an update in place, never a replace", () => {
    expect(secret.diff("id", olds, { ...base, value: "whsec_new" })).toEqual({
      changes: true,
      replaces: [],
      diffs: ["value"],
    });
  });
  it("a rename or another engine replaces, create-before-delete", () => {
    const d = secret.diff("id", olds, { ...base, name: "OTHER" });
    expect(d).toEqual({ changes: true, replaces: ["name"], diffs: ["name"] });
    expect(d.deleteBeforeReplace).toBeUndefined();
    expect(secret.diff("id", olds, { ...base, engineId: "e2" }).replaces).toEqual(["engineId"]);
  });
  it("overwritten out of band (refresh saw another version): an update that writes the value again", () => {
    expect(secret.diff("id", { ...olds, platformVersion: 9 }, base)).toEqual({
      changes: true,
      replaces: [],
      diffs: ["value"],
    });
    expect(secret.diff("id", { ...olds, platformVersion: 7 }, base).changes).toBe(false);
  });
});

/** A scripted client for the delete rules. */
function fakeClient(meta: SecretMeta | undefined, outcome: DeleteOutcome = "deleted") {
  const calls: string[] = [];
  const client = {
    async getSecret(e: string, n: string) {
      calls.push(`GET ${e}/${n}`);
      if (!meta)
        throw apiErrorFor({
          platform: "dypai",
          method: "GET",
          path: `/api/engine/${e}/secrets/${n}`,
          status: 404,
        });
      return meta;
    },
    async deleteSecret(e: string, n: string, v?: number) {
      calls.push(`DELETE ${e}/${n}?version=${v}`);
      return outcome;
    },
  } as unknown as DypaiClient;
  return { client, calls };
}

describe("BackendSecret delete rules", () => {
  const props: BackendSecretOutputs = { ...base, version: 7 };
  const ctxWith = (client: DypaiClient) => ({ ...contextFor({} as Emulator), dypai: () => client });

  it("deletes with our version as a precondition while the platform still holds our write", async () => {
    const { client, calls } = fakeClient({ name: base.name, version: 7 });
    await secret.delete(ctxWith(client), "id", props);
    expect(calls).toEqual([`GET ${engineId}/${base.name}`, `DELETE ${engineId}/${base.name}?version=7`]);
  });
  it("never deletes a newer write", async () => {
    const { client, calls } = fakeClient({ name: base.name, version: 8 });
    await secret.delete(ctxWith(client), "id", props);
    expect(calls).toEqual([`GET ${engineId}/${base.name}`]);
  });
  it("a write between the check and the delete: the precondition refuses, and that is not an error", async () => {
    const { client } = fakeClient({ name: base.name, version: 7 }, "version_mismatch");
    await expect(secret.delete(ctxWith(client), "id", props)).resolves.toBeUndefined();
  });
  it("already gone: done", async () => {
    const { client, calls } = fakeClient(undefined);
    await secret.delete(ctxWith(client), "id", props);
    expect(calls).toHaveLength(1);
  });
});

describe("BackendSecret against the emulator", () => {
  let emu: Emulator;
  const stored = async (engine = emu.dypai.engineId) =>
    (
      await adminCall<{ secrets: Record<string, { value: string; version: number }> }>(
        emu,
        "GET",
        `dypai/engines/${engine}/secrets`,
      )
    ).secrets;

  beforeAll(async () => {
    emu = await quietEmulator();
  });
  afterAll(() => emu.close());
  beforeEach(async () => {
    await adminCall(emu, "POST", "reset");
  });

  const inputs = () => ({ engineId: emu.dypai.engineId, name: "SIGNING_KEY", value: "sk-first-value" });

  it("create is one PUT; the id is engine/name; the version is recorded", async () => {
    await resetCounts(emu);
    const ctx = contextFor(emu);
    const { id, outs } = await secret.create(ctx, inputs());
    expect(id).toBe(`${emu.dypai.engineId}/SIGNING_KEY`);
    expect(await requestCounts(emu)).toEqual({ "PUT /dypai/api/engine/:id/secrets/:name": 1 });
    expect(outs).toMatchObject({ ...inputs(), version: expect.any(Number), updatedAt: expect.any(String) });
    expect((await stored()).SIGNING_KEY).toEqual({
      value: "sk-first-value",
      version: outs.version,
      updated_at: expect.any(String),
    });
  });

  it("a new value overwrites in place with one PUT: the secret never disappears", async () => {
    const ctx = contextFor(emu);
    const { id, outs } = await secret.create(ctx, inputs());
    await resetCounts(emu);
    const next = await secret.update(ctx, id, outs, { ...inputs(), value: "sk-second-value" });
    expect(await requestCounts(emu)).toEqual({ "PUT /dypai/api/engine/:id/secrets/:name": 1 });
    expect(next.version).toBeGreaterThan(outs.version);
    expect((await stored()).SIGNING_KEY.value).toBe("sk-second-value");
  });

  it("refresh: same version is no drift; another version is flagged; a 404 drops it; a 401 is an error", async () => {
    const ctx = contextFor(emu);
    const { id, outs } = await secret.create(ctx, inputs());
    expect((await secret.read(ctx, id, outs))?.props).toEqual(outs);
    await adminCall(emu, "POST", `dypai/engines/${emu.dypai.engineId}/secrets/SIGNING_KEY`, {
      value: "by-hand",
    });
    const drifted = await secret.read(ctx, id, outs);
    expect(drifted?.props.platformVersion).toBeGreaterThan(outs.version);
    expect(drifted?.props.version).toBe(outs.version);
    expect(JSON.stringify(drifted)).not.toContain("by-hand");
    expect(secret.diff(id, drifted!.props, inputs())).toMatchObject({ changes: true, replaces: [] });
    const fixed = await secret.update(ctx, id, drifted!.props, inputs());
    expect(fixed.platformVersion).toBeUndefined();
    expect((await stored()).SIGNING_KEY.value).toBe("sk-first-value");

    const denied = contextFor(emu, { dypai: dyClient(emu, "dypai_revoked") });
    const err = await thrown(() => secret.read(denied, id, fixed));
    expect(err.message).toMatch(/dypai: GET .* returned 401/);
    await adminCall(emu, "DELETE", `dypai/engines/${emu.dypai.engineId}/secrets/SIGNING_KEY`);
    expect(await secret.read(ctx, id, fixed)).toBeNull();
  });

  it("the name-keyed replace trap: two secrets swap names in one run and both survive", async () => {
    const ctx = contextFor(emu);
    const e = emu.dypai.engineId;
    const a = await secret.create(ctx, { engineId: e, name: "A", value: "value-one" });
    const b = await secret.create(ctx, { engineId: e, name: "B", value: "value-two" });
    // Create-before-delete order of one run: both creates, then both deletes of the replaced secrets.
    await secret.create(ctx, { engineId: e, name: "B", value: "value-one" });
    await secret.create(ctx, { engineId: e, name: "A", value: "value-two" });
    await secret.delete(ctx, a.id, a.outs);
    await secret.delete(ctx, b.id, b.outs);
    const s = await stored();
    expect(s.A.value).toBe("value-two");
    expect(s.B.value).toBe("value-one");
  });

  it("rename: the new name is written, then the old one deleted (it was still ours)", async () => {
    const ctx = contextFor(emu);
    const old = await secret.create(ctx, inputs());
    await secret.create(ctx, { ...inputs(), name: "SIGNING_KEY_V2" });
    await secret.delete(ctx, old.id, old.outs);
    expect(Object.keys(await stored())).toEqual(["SIGNING_KEY_V2"]);
  });

  it("move to another engine (another project, another Fernet key)", async () => {
    const ctx = contextFor(emu);
    const other = (await adminCall<{ id: string }>(emu, "POST", "dypai/engines", { newProject: true })).id;
    const old = await secret.create(ctx, inputs());
    const moved = await secret.create(ctx, { ...inputs(), engineId: other });
    await secret.delete(ctx, old.id, old.outs);
    expect(await stored()).toEqual({});
    expect((await stored(other)).SIGNING_KEY.value).toBe("sk-first-value");
    expect(moved.id).toBe(`${other}/SIGNING_KEY`);
  });

  it("create over an existing name takes it over (the platform's only write is an overwrite)", async () => {
    await adminCall(emu, "POST", `dypai/engines/${emu.dypai.engineId}/secrets/SIGNING_KEY`, {
      value: "pre-existing",
    });
    const { outs } = await secret.create(contextFor(emu), inputs());
    expect((await stored()).SIGNING_KEY).toMatchObject({ value: "sk-first-value", version: outs.version });
  });
});

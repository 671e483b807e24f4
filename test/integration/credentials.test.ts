// Access keys handed to a service deployment, end to end: create, no-op, replacement deploys, drift, rotation
// by age / expiry / trigger with a zero-downtime hand-off, revocation, errors, bad input, destroy.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import { DAY_MS } from "../../provider/resources/credential";
import {
  Stack,
  admin,
  adminCall,
  api,
  droppedByRefresh,
  emulator,
  keyWorks,
  ops,
  program,
  requests,
  resetRequests,
  runtimeEnv,
  watchServiceKey,
  closeAndAudit,
  stepOf,
} from "../support";

let emu: Emulator;
const base = () => ({
  config: {
    orgId: emu.dynamiq.orgId,
    projectId: emu.dynamiq.projectId,
    serviceId: emu.dynamiq.serviceId,
    "dynamiq:baseUrl": emu.baseUrl,
  },
  secrets: { "dynamiq:token": emu.dynamiq.userPat },
});
const keys = async () =>
  (await admin<{ records: Array<Record<string, unknown>> }>(emu, "records?kind=access_key")).records;

beforeAll(async () => {
  emu = await emulator();
});
// The suite's secret-leak audit (test/support/leaks.ts) runs after the emulator closes: the figure is zero.
afterAll(() => closeAndAudit(emu, "credentials"));

describe("AccessKey and ServiceDeployment", () => {
  let stack: Stack;
  let keyId: string;
  let key: string;

  it("creates the key, then deploys the service with it; the key works at once and stays out of plaintext state", async () => {
    stack = new Stack(program("credentials"), {
      ...base(),
      config: { ...base().config, rotateAfterDays: "30" },
    });
    await resetRequests(emu);
    const r = await stack.run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ create: 2 });
    // The budget: one call per resource, plus the status polls of the deployment while it is in progress
    // (the emulator finishes a deploy after 50 ms; the first poll comes 200 ms after the POST).
    const { routes } = await requests(emu);
    const { ["GET /v1/services/:id/deployments/:deployment_id"]: polls = 0, ...rest } = routes;
    expect(rest).toEqual({ "POST /v1/access-keys": 1, "POST /v1/services/:id/deploy": 1 });
    expect(polls).toBeGreaterThanOrEqual(1);
    expect(polls).toBeLessThanOrEqual(2);
    keyId = String(r.outputs.keyId);
    key = (await runtimeEnv(emu, emu.dynamiq.serviceId)).DYNAMIQ_ACCESS_KEY;
    expect(key).toMatch(/^dynamiq_acc_[A-Za-z0-9]{64}$/);
    expect(await keyWorks(emu, emu.dynamiq.serviceId, key)).toBe(true);
    const rec = (await keys()).find((k) => k.id === keyId)!;
    expect(rec).toMatchObject({
      name: "service-key",
      project_id: emu.dynamiq.projectId,
      preview: r.outputs.keyPreview,
    });
    expect(r.outputs.keyProjectId).toBe(emu.dynamiq.projectId);
    expect(await stack.leaks([key, emu.dynamiq.userPat])).toEqual([]);
    // The secret is in state, encrypted: decrypting it gives back the key the service holds.
    expect((await stack.resources()).find((x) => x.id === keyId)?.outputs?.key).toBe(key);
  });

  it("makes no API call when nothing changed", async () => {
    await resetRequests(emu);
    const r = await stack.run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ same: 2 });
    expect((await requests(emu)).total).toBe(0);
  });

  it("turns an env change into one replacement deploy and leaves the key alone", async () => {
    await resetRequests(emu);
    const r = await stack.run("up", { config: { env: '{"LOG_LEVEL":"debug"}' } });
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ same: 1, replace: 1 });
    expect(stepOf(r, "svc")?.replaces).toEqual(["env"]);
    const { routes } = await requests(emu);
    expect(routes["POST /v1/services/:id/deploy"]).toBe(1);
    expect(routes["POST /v1/access-keys"]).toBeUndefined();
    const env = await runtimeEnv(emu, emu.dynamiq.serviceId);
    expect(env.LOG_LEVEL).toBe("debug");
    expect(env.DYNAMIQ_ACCESS_KEY).toBe(key);
  });

  it("finds a deploy made by hand and deploys the declared state again", async () => {
    await api(emu, "POST", `/v1/services/${emu.dynamiq.serviceId}/deploy`, {
      image: "registry.example.com/hotfix:9",
      env: [],
    });
    await admin(emu, `services/${emu.dynamiq.serviceId}/finish-deploys`, {});
    const check = await stack.run("preview", { refresh: true, expectNoChanges: true });
    expect(check.exitCode, check.log).toBe(7);
    expect(stepOf(check, "svc")).toMatchObject({ op: "replace", replaces: ["activeDeploymentId"] });
    const r = await stack.run("up", { refresh: true });
    expect(r.exitCode, r.log).toBe(0);
    const env = await runtimeEnv(emu, emu.dynamiq.serviceId);
    expect(env.DYNAMIQ_ACCESS_KEY).toBe(key);
    expect((await admin<{ image: string }>(emu, `services/${emu.dynamiq.serviceId}/runtime`)).image).toBe(
      "registry.example.com/app:1.0.0",
    );
    expect((await stack.run("preview", { refresh: true, expectNoChanges: true })).exitCode).toBe(0);
  });

  it("rotates a key that is older than rotateAfterDays with no moment where the service holds a revoked key", async () => {
    await admin(emu, "age", { kind: "access_key", id: keyId, days: 31 });
    const preview = await stack.run("preview", { refresh: true });
    expect(preview.exitCode, preview.log).toBe(0);
    expect(stepOf(preview, "key")).toMatchObject({ op: "replace", replaces: ["rotation.rotateAfterDays"] });
    expect(stepOf(preview, "svc")?.op).toBe("replace");
    const stop = watchServiceKey(emu, emu.dynamiq.serviceId);
    const r = await stack.run("up", { refresh: true });
    const watched = await stop();
    expect(r.exitCode, r.log).toBe(0);
    expect(watched.failures).toBe(0);
    expect(watched.checks).toBeGreaterThan(3);
    const newKey = (await runtimeEnv(emu, emu.dynamiq.serviceId)).DYNAMIQ_ACCESS_KEY;
    expect(newKey).not.toBe(key);
    expect(await keyWorks(emu, emu.dynamiq.serviceId, key)).toBe(false);
    expect(await keyWorks(emu, emu.dynamiq.serviceId, newKey)).toBe(true);
    // Exactly one key of that name exists afterwards: the old one was revoked, none was orphaned.
    expect((await keys()).filter((k) => k.name === "service-key").map((k) => k.id)).toEqual([
      r.outputs.keyId,
    ]);
    keyId = String(r.outputs.keyId);
    key = newKey;
    expect(await stack.leaks([key, emu.dynamiq.userPat])).toEqual([]);
  });

  it("rotates when the trigger changes, and when the key has expired", async () => {
    const t = await stack.run("up", { config: { trigger: "incident-1" } });
    expect(t.exitCode, t.log).toBe(0);
    expect(stepOf(t, "key")).toMatchObject({ op: "replace", replaces: ["rotation.trigger"] });
    expect(t.outputs.keyId).not.toBe(keyId);
    await admin(emu, "expire", { kind: "access_key", id: String(t.outputs.keyId) });
    const p = await stack.run("preview", { refresh: true });
    expect(stepOf(p, "key")?.replaces).toContain("expiresAt");
    const r = await stack.run("up", { refresh: true });
    expect(r.exitCode, r.log).toBe(0);
    keyId = String(r.outputs.keyId);
    key = (await runtimeEnv(emu, emu.dynamiq.serviceId)).DYNAMIQ_ACCESS_KEY;
    expect(await keyWorks(emu, emu.dynamiq.serviceId, key)).toBe(true);
    expect((await keys()).filter((k) => k.name === "service-key")).toHaveLength(1);
  });

  it("keeps state when refresh is refused (403) and drops a revoked key only on 404, then replaces it", async () => {
    // `pulumi refresh` configures the provider from state, so the platform itself refuses the read here.
    await admin(emu, "faults", { route: "GET /v1/access-keys/:id", kind: "status", status: 403 });
    const denied = await stack.run("refresh");
    await adminCall(emu, "DELETE", "faults");
    expect(denied.exitCode).not.toBe(0);
    expect(denied.log).toMatch(/403/);
    expect((await stack.resources()).some((x) => x.id === keyId)).toBe(true);
    await api(emu, "DELETE", `/v1/access-keys/${keyId}`);
    const refreshed = await stack.run("refresh");
    expect(refreshed.exitCode, refreshed.log).toBe(0);
    expect(droppedByRefresh(refreshed, "key")).toBe(true);
    expect((await stack.resources()).some((x) => x.id === keyId)).toBe(false);
    const r = await stack.run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toMatchObject({ create: 1, replace: 1 });
    key = (await runtimeEnv(emu, emu.dynamiq.serviceId)).DYNAMIQ_ACCESS_KEY;
    expect(await keyWorks(emu, emu.dynamiq.serviceId, key)).toBe(true);
    keyId = String(r.outputs.keyId);
  });

  it("rejects bad input at check with the property and the rule, and makes no API call", async () => {
    await resetRequests(emu);
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{ keyName: "-bad name-" }, "name", /start and end with a letter or digit/],
      [{ expiresAt: new Date(Date.now() - DAY_MS).toISOString() }, "expiresAt", /future/],
      [{ env: '{"DYNAMIQ_SERVICE_TOKEN":"x"}' }, "env.DYNAMIQ_SERVICE_TOKEN", /reserved/],
      [{ env: '{"9LIVES":"x"}' }, "env.9LIVES", /valid environment variable name/],
      [{ secretEnv: '{"LOG_LEVEL":"x"}' }, "secretEnv.LOG_LEVEL", /also declared in env/],
    ];
    for (const [config, property, rule] of cases) {
      const r = await stack.run("up", {
        config: {
          env: '{"LOG_LEVEL":"debug"}',
          secretEnv: "{}",
          keyName: "service-key",
          expiresAt: "",
          ...config,
        },
      });
      expect(r.exitCode, property).not.toBe(0);
      expect(r.log).toContain(property);
      expect(r.log).toMatch(rule);
    }
    expect((await requests(emu)).total).toBe(0);
  });

  it("destroy revokes the key and leaves the service running its last deployment", async () => {
    const before = await api<unknown[]>(
      emu,
      "GET",
      `/v1/services/${emu.dynamiq.serviceId}/deployments?page_size=500`,
    );
    await resetRequests(emu);
    const r = await stack.run("destroy");
    expect(r.exitCode, r.log).toBe(0);
    expect((await requests(emu)).routes).toEqual({ "DELETE /v1/access-keys/:id": 1 });
    expect(await keyWorks(emu, emu.dynamiq.serviceId, key)).toBe(false);
    const after = await api<unknown[]>(
      emu,
      "GET",
      `/v1/services/${emu.dynamiq.serviceId}/deployments?page_size=500`,
    );
    expect(after).toEqual(before);
    expect((await runtimeEnv(emu, emu.dynamiq.serviceId)).DYNAMIQ_ACCESS_KEY).toBe(key);
  });
});

describe("rolling expiry", () => {
  it("renews a key before it expires and gives the new key its own window", async () => {
    const stack = new Stack(program("credentials"), {
      ...base(),
      config: {
        ...base().config,
        scope: "org",
        deploy: "false",
        keyName: "rolling",
        expiresInDays: "30",
        renewBeforeExpiryDays: "7",
      },
    });
    const r = await stack.run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(r.outputs.keyProjectId).toBeUndefined();
    const firstExpiry = Date.parse(String(r.outputs.keyExpiresAt));
    expect(Math.abs(firstExpiry - (Date.now() + 30 * DAY_MS))).toBeLessThan(60_000);
    expect((await stack.run("preview", { refresh: true, expectNoChanges: true })).exitCode).toBe(0);
    await admin(emu, "age", { kind: "access_key", id: String(r.outputs.keyId), days: 25, shiftExpiry: true });
    const p = await stack.run("preview", { refresh: true });
    expect(stepOf(p, "key")).toMatchObject({ op: "replace", replaces: ["rotation.renewBeforeExpiryDays"] });
    const u = await stack.run("up", { refresh: true });
    expect(u.exitCode, u.log).toBe(0);
    expect(Math.abs(Date.parse(String(u.outputs.keyExpiresAt)) - (Date.now() + 30 * DAY_MS))).toBeLessThan(
      60_000,
    );
    expect((await keys()).filter((k) => k.name === "rolling")).toHaveLength(1);
    expect((await stack.run("destroy")).exitCode).toBe(0);
  });
});

describe("deployment waiting", () => {
  it("reports a failed deployment with service, deployment id, status and the platform's message", async () => {
    const service = await admin<{ id: string }>(emu, "services", {
      project_id: emu.dynamiq.projectId,
      name: "failing",
    });
    await admin(emu, `services/${service.id}/fail-next-deploy`, { message: "image pull backoff" });
    const stack = new Stack(program("credentials"), {
      ...base(),
      config: { ...base().config, serviceId: service.id, keyName: "failing" },
    });
    const r = await stack.run("up");
    expect(r.exitCode).not.toBe(0);
    expect(r.log).toMatch(new RegExp(`service=${service.id}`));
    expect(r.log).toMatch(/deployment=[0-9a-f-]{36}/);
    expect(r.log).toMatch(/status=failed/);
    expect(r.log).toMatch(/image pull backoff/);
    await admin(emu, `services/${service.id}/deploy-delay`, { ms: 4000 });
    const slow = await stack.run("up", { config: { timeoutSeconds: "1" } });
    expect(slow.exitCode).not.toBe(0);
    expect(slow.log).toMatch(/did not finish within 1 s/);
    await admin(emu, `services/${service.id}/deploy-delay`, { ms: 0 });
    const ok = await stack.run("up", { config: { timeoutSeconds: "30" } });
    expect(ok.exitCode, ok.log).toBe(0);
    expect((await stack.run("destroy")).exitCode).toBe(0);
  });
});

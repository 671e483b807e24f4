// Static `get` of every resource class: objects made by hand read into a program without being managed. What a
// lookup shows (never a secret the API does not return), what refresh and destroy do with it, and a missing id.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import {
  Stack,
  admin,
  api,
  closeAndAudit,
  auditSecrets,
  emulator,
  onEmulator,
  ops,
  program,
  requests,
  resetRequests,
} from "../support";

let emu: Emulator;
beforeAll(async () => {
  emu = await emulator();
});
// The suite's secret-leak audit (test/support/leaks.ts) runs after the emulator closes: the figure is zero.
afterAll(() => closeAndAudit(emu, "lookups"));

const HAND_SECRETS = {
  connection: "sk-made-by-hand-" + "5".repeat(24),
  parameter: "param-secret-" + "6".repeat(20),
  backend: "backend-secret-" + "7".repeat(20),
};

/** One object of each kind, made by hand on the platforms; their ids as the lookups program's config. */
async function handMade(): Promise<Record<string, string>> {
  const connection = await api<{ id: string }>(emu, "POST", "/v1/connections", {
    name: "made-by-hand",
    project_id: emu.dynamiq.projectId,
    type: "dynamiq.connections.OpenAI",
    config: { api_key: HAND_SECRETS.connection, url: "https://api.openai.com/v1" },
  });
  const key = await api<{ id: string; key: string }>(emu, "POST", "/v1/access-keys", {
    name: "hand-key",
    org_id: emu.dynamiq.orgId,
  });
  const pat = await admin<{ id: string; key: string }>(emu, "mint", { kind: "pat", name: "hand-token" });
  auditSecrets(key.key, pat.key, ...Object.values(HAND_SECRETS));
  const deployment = await api<{ id: string }>(emu, "POST", `/v1/services/${emu.dynamiq.serviceId}/deploy`, {
    image: "registry.example.com/app:2.0.0",
    env: [
      { name: "LOG_LEVEL", value: "warn" },
      { name: "DB_PASSWORD", value: HAND_SECRETS.parameter, secret: true },
    ],
  });
  await admin(emu, `services/${emu.dynamiq.serviceId}/finish-deploys`, {});
  const fc = await admin<{ id: string }>(emu, "flightcontrol/services", { name: "looked-up" });
  await admin(emu, `flightcontrol/services/${fc.id}/env/PORT`, { group: "plainText", value: "8080" });
  await admin(emu, `flightcontrol/services/${fc.id}/env/DB_PASSWORD`, {
    group: "parameterStore",
    value: HAND_SECRETS.parameter,
  });
  await admin(emu, `dypai/engines/${emu.dypai.engineId}/secrets/SIGNING_KEY`, {
    value: HAND_SECRETS.backend,
  });
  return {
    connectionId: connection.id,
    keyId: key.id,
    patId: pat.id,
    deploymentId: deployment.id,
    serviceId: emu.dynamiq.serviceId,
    fcServiceId: fc.id,
    secretId: `${emu.dypai.engineId}/SIGNING_KEY`,
  };
}

const lookups = (ids: Record<string, string>) =>
  new Stack(
    program("lookups"),
    onEmulator(emu, { config: ids, secrets: { apiKey: "sk-managed-" + "8".repeat(24) } }),
  );

describe("static get", () => {
  it("reads each kind into the program with what the API returns, never a secret; destroy leaves them alone", async () => {
    const ids = await handMade();
    const stack = lookups(ids);
    await resetRequests(emu);
    const up = await stack.run("up");
    expect(up.exitCode, up.log).toBe(0);
    expect(ops(up)).toEqual({ read: 6, create: 1 });
    const routes = (await requests(emu)).routes;
    for (const route of [
      "POST /v1/access-keys",
      "POST /v1/personal-access-tokens",
      "POST /v1/services/:id/deploy",
    ])
      expect(routes[route], route).toBeUndefined();
    expect(routes["POST /v1/connections"]).toBe(1); // the managed one

    const o = up.outputs;
    expect(o).toMatchObject({
      connectionName: "made-by-hand",
      connectionType: "dynamiq.connections.OpenAI",
      connectionStatus: "active",
      keyName: "hand-key",
      keyOrgId: emu.dynamiq.orgId,
      tokenName: "hand-token",
      deploymentImage: "registry.example.com/app:2.0.0",
      deploymentEnv: { LOG_LEVEL: "warn" },
      deploymentStatus: "succeeded",
      activeDeploymentId: ids.deploymentId,
      envPlainText: { PORT: "8080" },
      secretName: "SIGNING_KEY",
      secretVersion: expect.any(Number),
    });
    expect(o.connectionConfig).toEqual({ url: "https://api.openai.com/v1" });
    expect(o.keyPreview).toMatch(/^dynamiq_acc_/);
    expect(o.tokenPreview).toMatch(/^dyn_pat_/);
    expect(o.envReferences).toEqual({ DB_PASSWORD: expect.stringMatching(/DB_PASSWORD/) });
    // Secrets the API never returns stay empty: a lookup cannot recover them.
    for (const k of ["keySecret", "envParameterStore", "secretValue"]) expect(o[k], k).toBeUndefined();

    // A refresh reads them again and finds nothing changed.
    const check = await stack.run("preview", { refresh: true, expectNoChanges: true });
    expect(check.exitCode, check.log).toBe(0);

    await resetRequests(emu);
    const destroy = await stack.run("destroy");
    expect(destroy.exitCode, destroy.log).toBe(0);
    expect(ops(destroy)).toEqual({ delete: 1 });
    const after = (await requests(emu)).routes;
    expect(Object.keys(after).filter((r) => r.startsWith("DELETE"))).toEqual(["DELETE /v1/connections/:id"]);
    // Every looked-up object is still there.
    await api(emu, "GET", `/v1/connections/${ids.connectionId}`);
    await api(emu, "GET", `/v1/access-keys/${ids.keyId}`);
    await api(emu, "GET", `/v1/personal-access-tokens/${ids.patId}`);
    const fcEnv = await admin<{ variables: Record<string, unknown> }>(
      emu,
      `flightcontrol/services/${ids.fcServiceId}/env`,
    );
    expect(Object.keys(fcEnv.variables).sort()).toEqual(["DB_PASSWORD", "PORT"]);
    const secrets = await admin<{ secrets: Record<string, unknown> }>(
      emu,
      `dypai/engines/${emu.dypai.engineId}/secrets`,
    );
    expect(Object.keys(secrets.secrets)).toContain("SIGNING_KEY");
  });

  it.each([
    [
      "connectionId",
      "00000000-0000-4000-8000-000000000000",
      /dynamiq: Connection 0{8}-0000-4000-8000-0{12} does not exist \(looked up with Connection\.get\)/,
    ],
    [
      "keyId",
      "00000000-0000-4000-8000-000000000001",
      /dynamiq: AccessKey 0{8}-0000-4000-8000-0{11}1 does not exist \(looked up with AccessKey\.get\)/,
    ],
    [
      "secretId",
      "no-such-engine/NOPE",
      /dypai: BackendSecret no-such-engine\/NOPE does not exist \(looked up with BackendSecret\.get\)/,
    ],
    [
      "secretId",
      "not-an-address",
      /dypai: "not-an-address" is not a backend secret id: expected <engineId>\/<name>/,
    ],
  ])(
    "a %s that does not exist fails the run, naming the resource and the id",
    async (key, missing, message) => {
      const ids = { ...(await handMade()), [key]: missing };
      const stack = lookups(ids);
      const up = await stack.run("up");
      expect(up.exitCode).not.toBe(0);
      expect(up.errors.join("\n")).toMatch(message);
      // Nothing is recorded for the missing object, and nothing was removed on the platforms.
      expect((await stack.resources()).map((r) => r.id)).not.toContain(missing);
      expect(ops(up).delete).toBeUndefined();
    },
  );
});

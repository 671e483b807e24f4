// Flightcontrol ServiceEnvVariables end to end on the real Pulumi CLI, against the emulator's Flightcontrol API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import {
  Stack,
  admin,
  closeAndAudit,
  checkFailure,
  emulator,
  ops,
  program,
  refreshOf,
  requests,
  resetRequests,
} from "../support";

let emu: Emulator;
let stack: Stack;
let svc: string;

const dbPw = ["db", "password", "one", "7f3a"].join("-");
const dbPw2 = ["db", "password", "two", "91c4"].join("-");
const dbPw3 = ["db", "password", "three", "5e2b"].join("-");
const dbPw4 = ["db", "password", "four", "c8d1"].join("-");
const apiSecret = ["api", "secret", "value", "42aa"].join("-");
const allSecrets = () => [dbPw, dbPw2, dbPw3, dbPw4, apiSecret, emu.flightcontrol.apiKey];

type Vars = Record<string, { group: string; value: unknown; updated_at: string }>;
const envOf = async (id = svc) =>
  (await admin<{ variables: Vars }>(emu, `flightcontrol/services/${id}/env`)).variables;
const adminDelete = async (route: string) => {
  const res = await fetch(`${emu.baseUrl}/_admin/${route}`, { method: "DELETE" });
  if (!res.ok) throw new Error(`DELETE ${route}: ${res.status}`);
};

// The declaration, as stack config; every run passes all of it (stack config persists between runs).
const declared = {
  config: {} as Record<string, string>,
  secrets: {} as Record<string, string>,
};
const POST = "POST /flightcontrol/v1/services/:serviceId/env-variables";
const STATUS = "GET /flightcontrol/v1/services/:serviceId/env-variables/status";
const LIST = "GET /flightcontrol/v1/services/:serviceId/env-variables";
const DELETE = "DELETE /flightcontrol/v1/services/:serviceId/env-variables/:name";

interface Declaration {
  serviceId?: string;
  plainText?: Record<string, string>;
  parameterStore?: Record<string, string>;
  secretsManager?: Record<string, string>;
  fromParameterStore?: Record<string, string>;
  fromSecretsManager?: Record<string, string>;
  fromService?: Record<string, { id: string; value: string }>;
  secondPlainText?: Record<string, string>;
  timeoutSeconds?: number;
}

function declare(groups: Declaration) {
  const json = (v: unknown) => (v === undefined ? "" : JSON.stringify(v));
  declared.config = {
    serviceId: groups.serviceId ?? svc,
    plainText: json(groups.plainText),
    fromParameterStore: json(groups.fromParameterStore),
    fromSecretsManager: json(groups.fromSecretsManager),
    fromService: json(groups.fromService),
    secondPlainText: json(groups.secondPlainText),
    timeoutSeconds: String(groups.timeoutSeconds ?? 300),
  };
  declared.secrets = {
    parameterStore: json(groups.parameterStore),
    secretsManager: json(groups.secretsManager),
  };
}

const run = (
  verb: "up" | "preview" | "refresh" | "destroy",
  opts: { refresh?: boolean; expectNoChanges?: boolean } = {},
) => stack.run(verb, { ...opts, config: declared.config, secrets: declared.secrets });

const baseline = (): Declaration => ({
  plainText: { PORT: "3000", LOG_LEVEL: "info" },
  parameterStore: { DB_PASSWORD: dbPw },
  secretsManager: { API_SECRET: apiSecret },
  fromParameterStore: { EXISTING_PARAM: "/my-org/existing-parameter" },
  fromSecretsManager: { EXISTING_SECRET: "arn:aws:secretsmanager:us-east-1:123456789:secret:my-secret" },
  fromService: { REDIS_URL: { id: "credisservice", value: "connectionString" } },
});

beforeAll(async () => {
  emu = await emulator();
  svc = emu.flightcontrol.serviceId;
  await admin(emu, `flightcontrol/services/${svc}/async-delay`, { ms: 30 });
  // A variable someone else manages on the same service: never touched, never drift.
  await admin(emu, `flightcontrol/services/${svc}/env/SET_ELSEWHERE`, { value: "keep-me" });
  stack = new Stack(program("flightcontrol"), {
    config: { "flightcontrol:baseUrl": emu.flightcontrol.baseUrl },
    secrets: { "flightcontrol:apiKey": emu.flightcontrol.apiKey },
  });
});
// The suite's secret-leak audit (test/support/leaks.ts) runs after the emulator closes: the figure is zero.
afterAll(() => closeAndAudit(emu, "flightcontrol"));

describe("ServiceEnvVariables on the real engine", () => {
  it("creates every group with one POST, waits for the FC-managed secrets, keeps secrets out of plaintext", async () => {
    declare(baseline());
    await resetRequests(emu);
    const r = await run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ create: 1 });
    const { routes } = await requests(emu);
    expect(routes[POST]).toBe(1);
    expect(routes[STATUS]).toBeGreaterThanOrEqual(1);
    expect(routes[LIST]).toBe(1);
    expect(String(r.outputs.id)).toMatch(new RegExp(`^${svc}/env/[0-9a-f]{12}$`));
    expect(r.outputs.references).toEqual({
      DB_PASSWORD: `/fc/${svc}/DB_PASSWORD`,
      API_SECRET: expect.stringMatching(/^arn:aws:secretsmanager:/),
    });
    const env = await envOf();
    expect(env).toMatchObject({
      PORT: { group: "plainText", value: "3000" },
      DB_PASSWORD: { group: "parameterStore", value: dbPw },
      API_SECRET: { group: "secretsManager", value: apiSecret },
      EXISTING_PARAM: { group: "fromParameterStore", value: "/my-org/existing-parameter" },
      REDIS_URL: { group: "fromService", value: { id: "credisservice", value: "connectionString" } },
      SET_ELSEWHERE: { value: "keep-me" },
    });
    expect(await stack.leaks(allSecrets())).toEqual([]);
    // The secrets are in state, encrypted: decrypting gives back what the service holds.
    const res = (await stack.resources()).find(
      (x) => x.type === "pulumi-nodejs:dynamic/flightcontrol:ServiceEnvVariables",
    );
    expect(res?.outputs?.parameterStore).toEqual({ DB_PASSWORD: dbPw });
    for (const text of await stack.providerTexts()) {
      expect(text).toContain('require("pulumi-dynamiq/provider")');
      expect(text).toContain("ServiceEnvVariables");
    }
  });

  it("makes no API call on a no-op up, and a variable set elsewhere is not drift", async () => {
    await resetRequests(emu);
    const r = await run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ same: 1 });
    expect((await requests(emu)).total).toBe(0);
    const check = await run("preview", { refresh: true, expectNoChanges: true });
    expect(check.exitCode, check.log).toBe(0);
  });

  it("a change set is one POST with only the changed names; a removed name is deleted; others left alone", async () => {
    const next = baseline();
    next.plainText = { PORT: "8080" };
    next.parameterStore = { DB_PASSWORD: dbPw2 };
    declare(next);
    await resetRequests(emu);
    const r = await run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ update: 1 });
    const { routes } = await requests(emu);
    expect(routes[POST]).toBe(1);
    expect(routes[LIST]).toBe(1);
    expect(routes[DELETE]).toBe(1);
    const env = await envOf();
    expect(env.PORT.value).toBe("8080");
    expect(env.DB_PASSWORD.value).toBe(dbPw2);
    expect(env.LOG_LEVEL).toBeUndefined();
    expect(env.SET_ELSEWHERE.value).toBe("keep-me");
    expect(await stack.leaks(allSecrets())).toEqual([]);
  });

  it("moving a name to another group is an update", async () => {
    const next = baseline();
    next.plainText = { PORT: "8080" };
    next.parameterStore = { DB_PASSWORD: dbPw2 };
    next.secretsManager = {};
    next.parameterStore!.API_SECRET = apiSecret;
    declare(next);
    const r = await run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ update: 1 });
    expect((await envOf()).API_SECRET).toMatchObject({ group: "parameterStore", value: apiSecret });
    // An emptied group is no drift either.
    const clean = await run("preview", { refresh: true, expectNoChanges: true });
    expect(clean.exitCode, clean.log).toBe(0);
  });

  it("finds a value and a secret changed out of band (CI drift check fails) and restores them", async () => {
    await admin(emu, `flightcontrol/services/${svc}/env/PORT`, { value: "1234" });
    await admin(emu, `flightcontrol/services/${svc}/env/DB_PASSWORD`, { value: "changed-by-hand" });
    const check = await run("preview", { refresh: true, expectNoChanges: true });
    expect(check.exitCode, check.log).toBe(7);
    // The refresh reads the drift (the secret one too, though it does not show), the plan updates in place.
    expect(ops(check)).toEqual({ refresh: 1, update: 1 });
    expect(refreshOf(check, "vars")?.diffs).toEqual(["changedOutOfBand", "plainText"]);
    expect(check.log).not.toContain("changed-by-hand");
    await resetRequests(emu);
    const fix = await run("up", { refresh: true });
    expect(fix.exitCode, fix.log).toBe(0);
    expect((await requests(emu)).routes[POST]).toBe(1);
    const env = await envOf();
    expect(env.PORT.value).toBe("8080");
    expect(env.DB_PASSWORD.value).toBe(dbPw2);
    const clean = await run("preview", { refresh: true, expectNoChanges: true });
    expect(clean.exitCode, clean.log).toBe(0);
  });

  it("puts back a variable deleted out of band", async () => {
    await adminDelete(`flightcontrol/services/${svc}/env/REDIS_URL`);
    const check = await run("preview", { refresh: true, expectNoChanges: true });
    expect(check.exitCode, check.log).toBe(7);
    const fix = await run("up", { refresh: true });
    expect(fix.exitCode, fix.log).toBe(0);
    expect((await envOf()).REDIS_URL).toMatchObject({ group: "fromService" });
  });

  it("a failed FC-managed secret fails the up naming the variable and the run; state keeps what is stored", async () => {
    await admin(emu, `flightcontrol/services/${svc}/fail-next`, { name: "DB_PASSWORD" });
    const next = baseline();
    next.plainText = { PORT: "8081" };
    next.parameterStore = { DB_PASSWORD: dbPw3, API_SECRET: apiSecret };
    next.secretsManager = {};
    declare(next);
    const r = await run("up");
    expect(r.exitCode).not.toBe(0);
    expect(r.log).toMatch(/failed to store: DB_PASSWORD/);
    expect(r.log).toMatch(/run=[0-9a-f-]{36}/);
    const env = await envOf();
    expect(env.DB_PASSWORD.value).toBe(dbPw2);
    expect(env.PORT.value).toBe("8081");
    const state = (await stack.resources()).find((x) => x.type.endsWith(":ServiceEnvVariables"))!;
    expect(state.outputs?.parameterStore).toEqual({ DB_PASSWORD: dbPw2, API_SECRET: apiSecret });
    expect(state.outputs?.plainText).toEqual({ PORT: "8081" });
    expect(await stack.leaks(allSecrets())).toEqual([]);
    // The next up writes what is missing, and only that.
    await resetRequests(emu);
    const again = await run("up");
    expect(again.exitCode, again.log).toBe(0);
    expect((await envOf()).DB_PASSWORD.value).toBe(dbPw3);
  });

  it("a run that outlasts timeoutSeconds fails naming the unfinished variables and the run id", async () => {
    await admin(emu, `flightcontrol/services/${svc}/async-delay`, { ms: 600_000 });
    const next = baseline();
    next.plainText = { PORT: "8081" };
    next.parameterStore = { DB_PASSWORD: dbPw4, API_SECRET: apiSecret };
    next.secretsManager = {};
    declare({ ...next, timeoutSeconds: 1 });
    const started = Date.now();
    const r = await run("up");
    expect(r.exitCode).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.log).toMatch(/not stored within 1 s: DB_PASSWORD/);
    expect(r.log).toMatch(/run=[0-9a-f-]{36}/);
    const state = (await stack.resources()).find((x) => x.type.endsWith(":ServiceEnvVariables"))!;
    expect((state.outputs?.parameterStore as Record<string, string>).DB_PASSWORD).toBe(dbPw3);
    // With a normal run time, the next up finishes the job.
    await admin(emu, `flightcontrol/services/${svc}/async-delay`, { ms: 30 });
    declare(next);
    const again = await run("up");
    expect(again.exitCode, again.log).toBe(0);
    expect((await envOf()).DB_PASSWORD.value).toBe(dbPw4);
    expect(await stack.leaks(allSecrets())).toEqual([]);
  });

  it("a name handed from one resource to another in one up survives the first one's removal of it", async () => {
    const next = baseline();
    next.parameterStore = { DB_PASSWORD: dbPw4, API_SECRET: apiSecret };
    next.secretsManager = {};
    declare({ ...next, plainText: { PORT: "8081", SHARED: "from-vars" } });
    expect((await run("up")).exitCode).toBe(0);
    expect((await envOf()).SHARED.value).toBe("from-vars");
    // `second` is applied first (vars depends on it): it writes SHARED, then vars stops declaring it.
    declare({ ...next, plainText: { PORT: "8081" }, secondPlainText: { SHARED: "from-second" } });
    const r = await run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ create: 1, update: 1 });
    expect((await envOf()).SHARED.value).toBe("from-second");
    // Dropping `second` deletes its name (still its own write).
    declare({ ...next, plainText: { PORT: "8081" } });
    const drop = await run("up");
    expect(drop.exitCode, drop.log).toBe(0);
    expect(ops(drop)).toEqual({ delete: 1, same: 1 });
    expect((await envOf()).SHARED).toBeUndefined();
  });

  it("a new serviceId replaces: the new service gets the variables, then the old one loses only ours", async () => {
    const other = (await admin<{ id: string }>(emu, "flightcontrol/services", { name: "api" })).id;
    const next = baseline();
    next.plainText = { PORT: "8081" };
    next.parameterStore = { DB_PASSWORD: dbPw4, API_SECRET: apiSecret };
    next.secretsManager = {};
    declare({ ...next, serviceId: other });
    const r = await run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ replace: 1 });
    expect(String(r.outputs.id)).toMatch(new RegExp(`^${other}/env/`));
    expect(await envOf(other)).toMatchObject({ PORT: { value: "8081" }, DB_PASSWORD: { value: dbPw4 } });
    expect(Object.keys(await envOf(svc))).toEqual(["SET_ELSEWHERE"]);
    svc = other;
  });

  it("rejects bad input at check, naming the property path and the rule, with no API call", async () => {
    const good = { ...declared };
    declare({
      plainText: { "1BAD": "x", DB_PASSWORD: "plain" },
      parameterStore: { DB_PASSWORD: dbPw4 },
      fromService: { REDIS_URL: { value: "connectionString" } as { id: string; value: string } },
      fromSecretsManager: { S: "not-an-arn" },
    });
    await resetRequests(emu);
    const r = await run("up");
    expect(r.exitCode).not.toBe(0);
    expect(r.log).toMatch(checkFailure("plainText.1BAD", "must be a valid variable name"));
    expect(r.log).toMatch(checkFailure("parameterStore.DB_PASSWORD", "is also declared in plainText"));
    expect(r.log).toMatch(checkFailure("fromService.REDIS_URL", "needs id"));
    expect(r.log).toMatch(checkFailure("fromSecretsManager.S", "must be a Secrets Manager secret ARN"));
    expect(r.log).not.toContain(dbPw4);
    expect((await requests(emu)).total).toBe(0);
    declared.config = good.config;
    declared.secrets = good.secrets;
  });

  it("destroys only its own variables", async () => {
    const original = emu.flightcontrol.serviceId;
    await admin(emu, `flightcontrol/services/${svc}/env/NOT_OURS`, { value: "stay" });
    const r = await run("destroy");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ delete: 1 });
    expect(Object.keys(await envOf(svc))).toEqual(["NOT_OURS"]);
    expect(Object.keys(await envOf(original))).toEqual(["SET_ELSEWHERE"]);
    expect(await stack.leaks(allSecrets())).toEqual([]);
  });
});

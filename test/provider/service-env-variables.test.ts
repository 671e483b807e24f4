import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import {
  resourceId,
  serviceEnvVariables as fcvars,
  type ServiceEnvVariablesInputs,
  type ServiceEnvVariablesOutputs,
} from "../../provider/resources/service-env-variables";
import { UNKNOWN } from "../../provider/resource";
import { OperationError } from "../../provider/errors";
import type { FlightcontrolClient } from "../../provider/clients/flightcontrol";
import {
  adminCall,
  contextFor,
  fcClient,
  quietEmulator,
  requestCounts,
  resetCounts,
  thrown,
} from "./companion-support";

const serviceId = "cm2jl6r8p0000k08o5shg2z5a";
const check = (news: Record<string, unknown>) => fcvars.check({}, { serviceId, ...news }).failures;

describe("ServiceEnvVariables check", () => {
  it("accepts every group in the shapes of the platform's own examples", () => {
    expect(
      check({
        plainText: { PORT: "3000", LOG_LEVEL: "info" },
        parameterStore: { DATABASE_PASSWORD: "my-secret-password" },
        secretsManager: { API_SECRET: "super-secret-api-key" },
        fromService: { REDIS_URL: { id: "redis-service-id", value: "connectionString" } },
        fromParameterStore: { EXISTING_PARAM: "/my-org/existing-parameter" },
        fromSecretsManager: {
          EXISTING_SECRET: "arn:aws:secretsmanager:us-east-1:123456789:secret:my-secret",
        },
        timeoutSeconds: 60,
      }),
    ).toEqual([]);
    expect(check({})).toEqual([]);
    expect(
      check({
        fromParameterStore: { P: "arn:aws:ssm:eu-west-1:123456789012:parameter/org/p" },
        fromSecretsManager: {
          S: "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x-AbCdEf:json:key",
        },
      }),
    ).toEqual([]);
  });

  it("names the property path and the rule", () => {
    expect(check({ plainText: { "1BAD": "x", "WITH-DASH": "y" } }).map((f) => f.property)).toEqual([
      "plainText.1BAD",
      "plainText.WITH-DASH",
    ]);
    expect(check({ plainText: { DB_PASSWORD: "a" }, parameterStore: { DB_PASSWORD: "b-secret" } })).toEqual([
      {
        property: "parameterStore.DB_PASSWORD",
        reason: "is also declared in plainText; a variable belongs to one group",
      },
    ]);
    expect(check({ fromService: { REDIS_URL: { value: "connectionString" } } })).toEqual([
      { property: "fromService.REDIS_URL", reason: "needs id: the id of the service to read from" },
    ]);
    expect(check({ fromService: { REDIS_URL: { id: "redis" } } })[0]).toMatchObject({
      property: "fromService.REDIS_URL",
      reason: expect.stringMatching(/^needs value/),
    });
    expect(check({ fromService: { R: "redis" } })[0].reason).toMatch(/must be an object \{ id, value \}/);
    expect(check({ fromService: { R: { id: "r", value: "v", extra: 1 } } })[0].reason).toMatch(
      /unknown field extra/,
    );
    expect(check({ fromSecretsManager: { S: "my-secret" } })[0]).toMatchObject({
      property: "fromSecretsManager.S",
      reason: expect.stringMatching(/Secrets Manager secret ARN/),
    });
    expect(
      check({ fromSecretsManager: { S: "arn:aws:ssm:us-east-1:123456789012:parameter/x" } }),
    ).toHaveLength(1);
    expect(check({ fromParameterStore: { P: "my-org/param" } })[0].reason).toMatch(/parameter path/);
    expect(check({ fromParameterStore: { P: "/a//b" } })).toHaveLength(1);
    expect(check({ fromParameterStore: { P: "/aws/reserved" } })[0].reason).toMatch(/reserves/);
    expect(check({ fromParameterStore: { P: "arn:aws:ssm:nowhere" } })[0].reason).toMatch(/parameter ARN/);
    expect(check({ plainText: { PORT: 3000 } })).toEqual([
      { property: "plainText.PORT", reason: "must be a string, got number" },
    ]);
  });

  it("never quotes a secret value in a reason", () => {
    const big = "hunter2-".repeat(600);
    const failures = check({ parameterStore: { A: "", B: big }, secretsManager: { C: "x".repeat(70_000) } });
    expect(failures.map((f) => f.property)).toEqual([
      "parameterStore.A",
      "parameterStore.B",
      "secretsManager.C",
    ]);
    expect(failures[1].reason).toMatch(/at most 4096 bytes/);
    expect(JSON.stringify(failures)).not.toContain("hunter2");
  });

  it("checks serviceId, timeoutSeconds and unknown properties; tolerates unknowns during preview", () => {
    expect(check({ serviceId: "svc 1", timeoutSeconds: 0, extra: true }).map((f) => f.property)).toEqual([
      "serviceId",
      "timeoutSeconds",
      "extra",
    ]);
    expect(
      check({
        serviceId: UNKNOWN,
        plainText: { A: UNKNOWN },
        parameterStore: UNKNOWN,
        fromService: { R: { id: UNKNOWN, value: "connectionString" } },
      }),
    ).toEqual([]);
  });
});

describe("ServiceEnvVariables diff", () => {
  const olds: ServiceEnvVariablesOutputs = {
    serviceId,
    plainText: { PORT: "3000" },
    parameterStore: { DB_PASSWORD: "pw" },
    versions: { PORT: "t1", DB_PASSWORD: "t2" },
  };
  const same: ServiceEnvVariablesInputs = {
    serviceId,
    plainText: { PORT: "3000" },
    parameterStore: { DB_PASSWORD: "pw" },
  };

  it("nothing changed: no changes", () => {
    expect(fcvars.diff("id", olds, same)).toEqual({ changes: false, replaces: [], diffs: [] });
    // An empty group is the same as no group.
    expect(fcvars.diff("id", olds, { ...same, secretsManager: {} }).changes).toBe(false);
  });

  it("a value change, a new name, a removed name or a group move is an update, never a replace", () => {
    expect(fcvars.diff("id", olds, { ...same, parameterStore: { DB_PASSWORD: "pw2" } })).toEqual({
      changes: true,
      replaces: [],
      diffs: ["parameterStore.DB_PASSWORD"],
    });
    expect(fcvars.diff("id", olds, { ...same, plainText: { PORT: "3000", NEW: "1" } }).diffs).toEqual([
      "plainText.NEW",
    ]);
    expect(fcvars.diff("id", olds, { serviceId, parameterStore: { DB_PASSWORD: "pw" } }).diffs).toEqual([
      "plainText.PORT",
    ]);
    const moved = fcvars.diff("id", olds, {
      serviceId,
      plainText: { PORT: "3000" },
      secretsManager: { DB_PASSWORD: "pw" },
    });
    expect(moved).toEqual({ changes: true, replaces: [], diffs: ["secretsManager.DB_PASSWORD"] });
  });

  it("a new serviceId replaces", () => {
    expect(fcvars.diff("id", olds, { ...same, serviceId: "cother" }).replaces).toEqual(["serviceId"]);
    expect(fcvars.diff("id", olds, { ...same, serviceId: UNKNOWN }).replaces).toEqual(["serviceId"]);
  });

  it("a secret changed out of band (found by refresh) is an update; unknowns and timeoutSeconds are changes", () => {
    expect(fcvars.diff("id", { ...olds, changedOutOfBand: ["DB_PASSWORD"] }, same)).toEqual({
      changes: true,
      replaces: [],
      diffs: ["parameterStore.DB_PASSWORD"],
    });
    expect(fcvars.diff("id", olds, { ...same, plainText: { PORT: UNKNOWN } }).diffs).toEqual([
      "plainText.PORT",
    ]);
    expect(fcvars.diff("id", olds, { ...same, parameterStore: UNKNOWN as never }).diffs).toContain(
      "parameterStore",
    );
    expect(fcvars.diff("id", olds, { ...same, timeoutSeconds: 30 })).toEqual({
      changes: true,
      replaces: [],
      diffs: ["timeoutSeconds"],
    });
  });

  it("the resource id is the service and a digest of the names at creation", () => {
    expect(resourceId(serviceId, ["B", "A"])).toBe(resourceId(serviceId, ["A", "B"]));
    expect(resourceId(serviceId, ["A"])).toMatch(new RegExp(`^${serviceId}/env/[0-9a-f]{12}$`));
    expect(resourceId(serviceId, ["A"])).not.toBe(resourceId(serviceId, ["A", "B"]));
  });
});

describe("ServiceEnvVariables removal failures", () => {
  const olds: ServiceEnvVariablesOutputs = {
    serviceId,
    plainText: { KEEP: "1", GONE: "2" },
    versions: { KEEP: "t1", GONE: "t2" },
  };
  const failingDelete = {
    async listEnvVariables() {
      return {
        KEEP: { type: "plainText", value: "1", updatedAt: "t1" },
        GONE: { type: "plainText", value: "2", updatedAt: "t2" },
      };
    },
    async deleteEnvVariable() {
      throw new Error("flightcontrol: DELETE returned 500");
    },
  } as unknown as FlightcontrolClient;
  const ctx = { ...contextFor({} as Emulator), flightcontrol: () => failingDelete };

  it("an update whose delete fails keeps the name in state and says so; no run id is invented", async () => {
    const err = await thrown(() => fcvars.update(ctx, "id", olds, { serviceId, plainText: { KEEP: "1" } }));
    expect(err.message).toMatch(/not deleted: GONE \(flightcontrol: DELETE returned 500\)/);
    expect(err.message).not.toMatch(/run=/);
    expect((err.properties as ServiceEnvVariablesOutputs).plainText).toEqual({ KEEP: "1", GONE: "2" });
  });

  it("a destroy whose delete fails is an error (the resource stays in state)", async () => {
    const err = await thrown(() => fcvars.delete(ctx, "id", olds));
    expect(err.message).toMatch(/not deleted: KEEP \(.*\), GONE/);
  });
});

describe("ServiceEnvVariables against the emulator", () => {
  let emu: Emulator;
  let svc: string;
  const env = async () =>
    (
      await adminCall<{ variables: Record<string, { group: string; value: unknown }> }>(
        emu,
        "GET",
        `flightcontrol/services/${svc}/env`,
      )
    ).variables;

  beforeAll(async () => {
    emu = await quietEmulator();
  });
  afterAll(() => emu.close());
  beforeEach(async () => {
    await adminCall(emu, "POST", "reset");
    svc = emu.flightcontrol.serviceId;
    await adminCall(emu, "POST", `flightcontrol/services/${svc}/async-delay`, { ms: 20 });
  });

  const inputs = (): ServiceEnvVariablesInputs => ({
    serviceId: svc,
    plainText: { PORT: "3000" },
    parameterStore: { DB_PASSWORD: "pw-one-1" },
    secretsManager: { API_SECRET: "api-secret-1" },
    fromService: { REDIS_URL: { id: "credis", value: "connectionString" } },
  });

  it("create: one POST, status polling, one read-back; state records references and versions", async () => {
    await resetCounts(emu);
    const ctx = contextFor(emu);
    const { id, outs } = await fcvars.create(ctx, inputs());
    expect(id).toBe(resourceId(svc, ["PORT", "DB_PASSWORD", "API_SECRET", "REDIS_URL"]));
    const counts = await requestCounts(emu);
    expect(counts["POST /flightcontrol/v1/services/:serviceId/env-variables"]).toBe(1);
    expect(counts["GET /flightcontrol/v1/services/:serviceId/env-variables/status"]).toBeGreaterThanOrEqual(
      1,
    );
    expect(counts["GET /flightcontrol/v1/services/:serviceId/env-variables"]).toBe(1);
    expect(outs).toMatchObject({ ...inputs(), lastRunId: expect.any(String) });
    expect(outs.references).toEqual({
      DB_PASSWORD: `/fc/${svc}/DB_PASSWORD`,
      API_SECRET: expect.stringMatching(/^arn:aws:secretsmanager:/),
    });
    expect(Object.keys(outs.versions ?? {}).sort()).toEqual([
      "API_SECRET",
      "DB_PASSWORD",
      "PORT",
      "REDIS_URL",
    ]);
    expect(await env()).toMatchObject({
      PORT: { group: "plainText", value: "3000" },
      DB_PASSWORD: { group: "parameterStore", value: "pw-one-1" },
      API_SECRET: { group: "secretsManager", value: "api-secret-1" },
    });

    // Refresh with nothing changed: the same state.
    const r = await fcvars.read(ctx, id, outs);
    expect(r?.props).toEqual(outs);
    expect(fcvars.diff(id, r!.props, inputs()).changes).toBe(false);
  });

  it("update: one POST with only the changed names; a group move; a removed name is deleted", async () => {
    const ctx = contextFor(emu);
    const { id, outs } = await fcvars.create(ctx, inputs());
    await resetCounts(emu);
    const next: ServiceEnvVariablesInputs = {
      serviceId: svc,
      plainText: { PORT: "8080", API_SECRET: "now-plain" },
      parameterStore: { DB_PASSWORD: "pw-one-1" },
    };
    const updated = await fcvars.update(ctx, id, outs, next);
    expect(await requestCounts(emu)).toEqual({
      "POST /flightcontrol/v1/services/:serviceId/env-variables": 1,
      "GET /flightcontrol/v1/services/:serviceId/env-variables": 1,
      "DELETE /flightcontrol/v1/services/:serviceId/env-variables/:name": 1,
    });
    expect(updated).toMatchObject(next);
    expect(updated.references).toEqual({ DB_PASSWORD: `/fc/${svc}/DB_PASSWORD` });
    const vars = await env();
    expect(vars).toMatchObject({
      PORT: { group: "plainText", value: "8080" },
      API_SECRET: { group: "plainText", value: "now-plain" },
    });
    expect(vars.REDIS_URL).toBeUndefined();
  });

  it("leaves variables it does not declare alone, and does not report them as drift", async () => {
    await adminCall(emu, "POST", `flightcontrol/services/${svc}/env/OTHER`, { value: "someone-else" });
    const ctx = contextFor(emu);
    const { id, outs } = await fcvars.create(ctx, { serviceId: svc, plainText: { PORT: "1" } });
    const r = await fcvars.read(ctx, id, outs);
    expect(r?.props).toEqual(outs);
    await fcvars.delete(ctx, id, outs);
    expect(Object.keys(await env())).toEqual(["OTHER"]);
  });

  it("a partially failed run: an error naming the variable and the run, never a value; state = what was stored", async () => {
    await adminCall(emu, "POST", `flightcontrol/services/${svc}/fail-next`, {
      name: "API_SECRET",
      message: "AccessDeniedException for api-secret-1",
    });
    const err = await thrown(() => fcvars.create(contextFor(emu), inputs()));
    expect(err).toBeInstanceOf(OperationError);
    expect(err.message).toMatch(/failed to store: API_SECRET/);
    expect(err.message).toContain(`run=${(err.properties as ServiceEnvVariablesOutputs).lastRunId}`);
    expect(err.message).not.toContain("api-secret-1");
    expect(err.message).not.toContain("pw-one-1");
    expect(err.id).toBe(resourceId(svc, ["PORT", "DB_PASSWORD", "API_SECRET", "REDIS_URL"]));
    expect(err.reasons).toEqual([err.message]);
    const props = err.properties as ServiceEnvVariablesOutputs;
    expect(props.secretsManager).toEqual({});
    expect(props.parameterStore).toEqual({ DB_PASSWORD: "pw-one-1" });
    expect(props.plainText).toEqual({ PORT: "3000" });
    // The next attempt writes only what is missing.
    await resetCounts(emu);
    const fixed = await fcvars.update(contextFor(emu), String(err.id), props, inputs());
    expect(fixed.secretsManager).toEqual({ API_SECRET: "api-secret-1" });
    expect((await env()).API_SECRET).toMatchObject({ value: "api-secret-1" });
  });

  it("an update whose run fails keeps the old value in state (the platform still holds it)", async () => {
    const ctx = contextFor(emu);
    const { id, outs } = await fcvars.create(ctx, inputs());
    await adminCall(emu, "POST", `flightcontrol/services/${svc}/fail-next`, { name: "DB_PASSWORD" });
    const err = await thrown(() =>
      fcvars.update(ctx, id, outs, {
        ...inputs(),
        parameterStore: { DB_PASSWORD: "pw-two-2" },
        plainText: { PORT: "1" },
      }),
    );
    expect(err.id).toBe(id);
    const props = err.properties as ServiceEnvVariablesOutputs;
    expect(props.parameterStore).toEqual({ DB_PASSWORD: "pw-one-1" });
    expect(props.plainText).toEqual({ PORT: "1" });
    expect(props.versions?.DB_PASSWORD).toBe(outs.versions?.DB_PASSWORD);
    expect((await env()).DB_PASSWORD).toMatchObject({ value: "pw-one-1" });
  });

  it("a run that does not finish by our deadline: an error naming the variables and the run id", async () => {
    await adminCall(emu, "POST", `flightcontrol/services/${svc}/async-delay`, { ms: 600_000 });
    const started = Date.now();
    const err = await thrown(() => fcvars.create(contextFor(emu), { ...inputs(), timeoutSeconds: 1 }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err.message).toMatch(/not stored within 1 s: DB_PASSWORD, API_SECRET/);
    expect(err.message).toMatch(/raise timeoutSeconds/);
    const props = err.properties as ServiceEnvVariablesOutputs;
    expect(err.message).toContain(`run=${props.lastRunId}`);
    expect(props.parameterStore).toEqual({});
    expect(props.secretsManager).toEqual({});
    expect(props.plainText).toEqual({ PORT: "3000" });
    expect(props.fromService).toEqual({ REDIS_URL: { id: "credis", value: "connectionString" } });
  });

  it("refresh: plain values and removals are read back; a secret overwritten out of band is flagged", async () => {
    const ctx = contextFor(emu);
    const { id, outs } = await fcvars.create(ctx, inputs());
    await adminCall(emu, "POST", `flightcontrol/services/${svc}/env/PORT`, { value: "9999" });
    await adminCall(emu, "POST", `flightcontrol/services/${svc}/env/DB_PASSWORD`, {
      value: "changed-by-hand",
    });
    await adminCall(emu, "DELETE", `flightcontrol/services/${svc}/env/API_SECRET`);
    const r = await fcvars.read(ctx, id, outs);
    expect(r?.props.plainText).toEqual({ PORT: "9999" });
    expect(r?.props.parameterStore).toEqual({ DB_PASSWORD: "pw-one-1" });
    expect(r?.props.secretsManager).toEqual({});
    expect(r?.props.changedOutOfBand).toEqual(["DB_PASSWORD"]);
    expect(JSON.stringify(r)).not.toContain("changed-by-hand");
    const d = fcvars.diff(id, r!.props, inputs());
    expect(d).toMatchObject({ changes: true, replaces: [] });
    expect(d.diffs.sort()).toEqual([
      "parameterStore.DB_PASSWORD",
      "plainText.PORT",
      "secretsManager.API_SECRET",
    ]);
    const fixed = await fcvars.update(ctx, id, r!.props, inputs());
    expect(fixed.changedOutOfBand).toBeUndefined();
    expect(await env()).toMatchObject({
      PORT: { value: "3000" },
      DB_PASSWORD: { value: "pw-one-1" },
      API_SECRET: { value: "api-secret-1" },
    });
  });

  it("refresh: a secret moved to another group out of band is dropped from state, its value not copied", async () => {
    const ctx = contextFor(emu);
    const { id, outs } = await fcvars.create(ctx, inputs());
    await adminCall(emu, "POST", `flightcontrol/services/${svc}/env/DB_PASSWORD`, {
      group: "plainText",
      value: "exposed-by-hand",
    });
    const r = await fcvars.read(ctx, id, outs);
    expect(r?.props.parameterStore).toEqual({});
    expect(JSON.stringify(r)).not.toContain("exposed-by-hand");
  });

  it("refresh: a 404 for the service drops the resource; a 401 is an error", async () => {
    const ctx = contextFor(emu);
    const { id, outs } = await fcvars.create(ctx, { serviceId: svc, plainText: { A: "1" } });
    const denied = contextFor(emu, { flightcontrol: fcClient(emu, "fc_revoked") });
    const err = await thrown(() => fcvars.read(denied, id, outs));
    expect(err.message).toMatch(/flightcontrol: GET .* returned 401/);
    expect(err.message).not.toContain(emu.flightcontrol.apiKey);
    expect(await fcvars.read(ctx, id, { ...outs, serviceId: "cgone" })).toBeNull();
  });

  it("delete removes only names whose updatedAt is still ours", async () => {
    const ctx = contextFor(emu);
    const { id, outs } = await fcvars.create(ctx, { serviceId: svc, plainText: { MINE: "1", TAKEN: "2" } });
    // Someone else writes TAKEN after us: it is theirs now.
    await adminCall(emu, "POST", `flightcontrol/services/${svc}/env/TAKEN`, { value: "theirs" });
    await fcvars.delete(ctx, id, outs);
    expect(await env()).toEqual({ TAKEN: expect.objectContaining({ value: "theirs" }) });
    // Deleting again (everything gone) is fine, and so is a service that no longer exists.
    await fcvars.delete(ctx, id, outs);
    await fcvars.delete(ctx, id, { ...outs, serviceId: "cgone" });
  });

  it("two resources on one service: a name handed from one to the other survives the first one's removal", async () => {
    const ctx = contextFor(emu);
    const a = await fcvars.create(ctx, { serviceId: svc, plainText: { SHARED: "a", A: "1" } });
    const b = await fcvars.create(ctx, { serviceId: svc, plainText: { B: "1" } });
    // One up: B takes SHARED over (written first), then A drops it.
    await fcvars.update(ctx, b.id, b.outs, { serviceId: svc, plainText: { B: "1", SHARED: "b" } });
    await fcvars.update(ctx, a.id, a.outs, { serviceId: svc, plainText: { A: "1" } });
    expect((await env()).SHARED).toMatchObject({ value: "b" });
  });

  it("an empty declaration makes no call", async () => {
    await resetCounts(emu);
    const { outs } = await fcvars.create(contextFor(emu), { serviceId: svc });
    expect(outs).toEqual({ serviceId: svc });
    expect(await requestCounts(emu)).toEqual({});
  });
});

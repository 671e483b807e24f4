// The fault table: every resource operation (create, read, update, delete and the async polls) under every fault
// the emulator injects, run against the provider definitions directly, one test per cell. Each cell checks the
// invariants (no orphan, counted on the emulator; no state dropped on anything but a confirmed 404/410; a clear
// error naming the platform) and that its outcome is the one docs/faults.md writes down.
// `UPDATE_FAULT_TABLE=1` rewrites that table.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../emulator/server";
import { FC_GROUPS } from "../../provider/clients/flightcontrol";
import { ProviderError } from "../../provider/errors";
import { DEFAULT_RETRY, type RetryPolicy } from "../../provider/http";
import { MAX_CREATE_ATTEMPTS, reconcileLog } from "../../provider/reconcile";
import { accessKey } from "../../provider/resources/access-key";
import { connection } from "../../provider/resources/connection";
import { backendSecret } from "../../provider/resources/backend-secret";
import { serviceEnvVariables } from "../../provider/resources/service-env-variables";
import { personalAccessToken } from "../../provider/resources/personal-access-token";
import { serviceDeployment } from "../../provider/resources/service-deployment";
import type { ResourceContext } from "../../provider/resource";
import { LeakAudit } from "../support/leaks";
import { setEnv } from "../support";
import { adminCall, arm, contextOf, disarm, FAST, fired, records, routeCounts } from "./support";

const DOC = path.resolve(__dirname, "..", "..", "docs", "faults.md");
const UPDATE = process.env.UPDATE_FAULT_TABLE === "1";
/** The retry policy of the clients these tests use, merged over the defaults as HttpClient does. */
const RETRY: RetryPolicy = { ...DEFAULT_RETRY, ...FAST.retry };
/** Their request timeout; the client aborts for good 1 s after it (undici's header and body timers are coarse). */
const TIMEOUT_MS = FAST.timeoutMs as number;

interface Fault {
  name: string;
  arm: Record<string, unknown>;
}

const FAULTS: Fault[] = [
  { name: "latency 30 ms", arm: { kind: "latency", ms: 30 } },
  { name: "429 + Retry-After", arm: { kind: "status", status: 429, retryAfter: 0.02 } },
  { name: "500", arm: { kind: "status", status: 500 } },
  { name: "502", arm: { kind: "status", status: 502 } },
  { name: "503", arm: { kind: "status", status: 503 } },
  { name: "504", arm: { kind: "status", status: 504 } },
  { name: "reset before answer", arm: { kind: "reset" } },
  { name: "commit, then drop", arm: { kind: "commit_drop" } },
  // Past the client's timeout and past its abort signal, which fires 1 s later at the latest.
  { name: "commit, answer too late", arm: { kind: "latency", ms: TIMEOUT_MS + 1_100, after: true } },
  { name: "truncated body", arm: { kind: "truncated" } },
  { name: "malformed body", arm: { kind: "malformed" } },
  { name: "200, field missing", arm: { kind: "missing_field" } },
];

type Outcome = "ok" | "retried" | "reconciled" | "error";

interface Op {
  resource: string;
  op: string;
  route: string;
  /** The field the missing-field fault removes. */
  field: string;
  /** Runs the operation; `setup` has prepared what it needs. Returns what verify needs. */
  run(ctx: ResourceContext, n: number): Promise<unknown>;
  setup?(ctx: ResourceContext, n: number): Promise<void>;
  /** What exists in the operation's store before the cell's setup, for verify to tell what the cell left. */
  snapshot?(): Promise<Set<string>>;
  /** Checks the invariants after the run (faults disarmed); returns the orphans found. */
  verify(
    ctx: ResourceContext,
    n: number,
    ok: boolean,
    result: unknown,
    before?: Set<string>,
  ): Promise<number>;
}

let emu: Emulator;
let orgId: string;
let projectId: string;
let serviceId: string;
let fcService: string;
let engineId: string;
let ctx: ResourceContext;
const logLines: string[] = [];
const audit = new LeakAudit("fault table");
const errors: string[] = [];
/** What setup created, per cell number. */
const made = new Map<number, { id: string; outs: Record<string, unknown> }>();
let statesLost = 0;
let journalBefore: string | undefined;
/** Outcome per operation and fault, for the rewrite of docs/faults.md and the summary. */
const results = new Map<string, Map<string, Outcome>>();
let orphansFound = 0;

const secretOf = (n: number) => `sk-fault-secret-${n}-${"x".repeat(8)}`;

function ops(): Op[] {
  const connInputs = (n: number) => ({
    projectId,
    name: `conn-${n}`,
    type: "dynamiq.connections.OpenAI",
    config: { api_key: secretOf(n) },
  });
  const setupWith =
    (create: (ctx: ResourceContext, n: number) => Promise<{ id: string; outs: unknown }>) =>
    async (ctx: ResourceContext, n: number) => {
      audit.add(secretOf(n));
      const r = await create(ctx, n);
      audit.add((r.outs as { key?: string }).key);
      made.set(n, r as { id: string; outs: Record<string, unknown> });
    };
  const countByName = async (kind: string, name: string) =>
    (await records<{ name: string }>(emu, kind)).filter((r) => r.name === name).length;
  const createdOnce =
    (kind: string, name: (n: number) => string) => async (_ctx: ResourceContext, n: number, ok: boolean) => {
      const count = await countByName(kind, name(n));
      return Math.max(0, count - (ok ? 1 : 0));
    };
  const readKeeps = async (_ctx: ResourceContext, _n: number, ok: boolean, result: unknown) => {
    if (ok && result === null) statesLost++;
    return 0;
  };
  const akIn = (n: number) => ({ name: `ak-${n}`, orgId, projectId });
  const patIn = (n: number) => ({ name: `pat-${n}` });
  const depIn = (n: number) => ({
    serviceId,
    image: `registry.example.com/app:${n}`,
    env: { LOG_LEVEL: "info" },
    secretEnv: { API_KEY: secretOf(n) },
    timeoutSeconds: 30,
  });
  const fcIn = (n: number) => ({
    serviceId: fcService,
    plainText: { [`PORT_${n}`]: "3000" },
    parameterStore: { [`DB_PASSWORD_${n}`]: secretOf(n) },
  });
  const dyIn = (n: number) => ({ engineId, name: `SECRET_${n}`, value: secretOf(n) });
  const get = (n: number) => made.get(n)!;
  /** The Flightcontrol service's variables, those a run is still storing included. */
  const fcNames = async () => {
    const env = await adminCall<{ variables: Record<string, unknown>; pending: string[] }>(
      emu,
      "GET",
      `flightcontrol/services/${fcService}/env`,
    );
    return new Set([...Object.keys(env.variables), ...env.pending]);
  };
  const fcRecorded = (outs: Record<string, unknown> | undefined) =>
    FC_GROUPS.flatMap((g) => Object.keys((outs?.[g] as Record<string, unknown> | undefined) ?? {}));
  /** What a create or update of the variables left in state: its outputs, or the partial state of its error. */
  const fcStateOf = (ok: boolean, result: unknown) =>
    fcRecorded(
      ok
        ? (result as { outs: Record<string, unknown> }).outs
        : (result as { properties?: Record<string, unknown> }).properties,
    );
  const dyNames = async () =>
    new Set(
      Object.keys(
        (
          await adminCall<{ secrets: Record<string, unknown> }>(
            emu,
            "GET",
            `dypai/engines/${engineId}/secrets`,
          )
        ).secrets,
      ),
    );
  /**
   * Orphans of a store keyed by name (Flightcontrol variables, DYPAI secrets), counted on the emulator: what the
   * cell left there (present now, absent before its setup) that the state the operation leaves does not record.
   * After a failure, a name the operation declared is not counted: both platforms' writes are upserts by name,
   * so the next `up` of the same declaration takes it over (and a failed delete keeps its state).
   */
  const nameKeyed = (
    list: () => Promise<Set<string>>,
    declared: (n: number) => string[],
    recorded: (n: number, ok: boolean, result: unknown) => string[],
  ): Pick<Op, "snapshot" | "verify"> => ({
    snapshot: list,
    verify: async (_ctx, n, ok, result, before) => {
      const kept = new Set(recorded(n, ok, result));
      const left = [...(await list())].filter((name) => !before!.has(name));
      return left.filter((name) => !kept.has(name) && (ok || !declared(n).includes(name))).length;
    },
  });
  const fcDeclared = (n: number) => fcRecorded(fcIn(n));
  const dyDeclared = (n: number) => [dyIn(n).name];

  return [
    {
      resource: "Connection",
      op: "create",
      route: "POST /v1/connections",
      field: "id",
      run: (ctx, n) => connection.create(ctx, connInputs(n)),
      verify: createdOnce("connection", (n) => `conn-${n}`),
    },
    {
      resource: "Connection",
      op: "read",
      route: "GET /v1/connections/:id",
      field: "status",
      setup: setupWith((ctx, n) => connection.create(ctx, connInputs(n))),
      run: (ctx, n) => connection.read(ctx, get(n).id, get(n).outs as never),
      verify: readKeeps,
    },
    {
      resource: "Connection",
      op: "read (secret drift)",
      route: "POST /v1/connections/:id/credentials",
      field: "config",
      setup: setupWith((ctx, n) => connection.create(ctx, { ...connInputs(n), checkSecretDrift: true })),
      run: (ctx, n) => connection.read(ctx, get(n).id, get(n).outs as never),
      verify: async (_c, n, ok, result) => {
        if (ok && result === null) statesLost++;
        // Never takes anything but the credentials for the config.
        if (ok)
          expect((result as { props: { config: unknown } }).props.config).toEqual({ api_key: secretOf(n) });
        return 0;
      },
    },
    {
      resource: "Connection",
      op: "create (OAuth consent URL)",
      route: "POST /v1/connections/:id/oauth2/authorize",
      field: "url",
      run: (ctx, n) =>
        connection.create(ctx, { ...connInputs(n), type: "dynamiq.connections.GitHubOAuth2", config: {} }),
      verify: async (ctx, n, ok, result) => {
        const orphans = await createdOnce("connection", (i) => `conn-${i}`)(ctx, n, ok);
        // A create that lost its consent URL still records the connection; the next refresh fills the URL in.
        if (ok) {
          const r = result as { id: string; outs: Record<string, unknown> };
          const read = await connection.read(ctx, r.id, r.outs as never);
          expect(read?.props.authorizationUrl).toMatch(/^http/);
        }
        return orphans;
      },
    },
    {
      resource: "Connection",
      op: "update",
      route: "PUT /v1/connections/:id",
      field: "status",
      setup: setupWith((ctx, n) => connection.create(ctx, connInputs(n))),
      run: (ctx, n) =>
        connection.update(ctx, get(n).id, get(n).outs as never, {
          ...connInputs(n),
          config: { api_key: secretOf(n) + "-2" },
        }),
      // Updated in place whatever happened: the one connection of that name is the one state records.
      verify: async (_c, n) => {
        const named = (await records<{ id: string; name: string }>(emu, "connection")).filter(
          (r) => r.name === `conn-${n}`,
        );
        expect(
          named.map((r) => r.id),
          `conn-${n} is still there`,
        ).toContain(get(n).id);
        return named.filter((r) => r.id !== get(n).id).length;
      },
    },
    {
      resource: "Connection",
      op: "delete",
      route: "DELETE /v1/connections/:id",
      field: "id",
      setup: setupWith((ctx, n) => connection.create(ctx, connInputs(n))),
      run: (ctx, n) => connection.delete(ctx, get(n).id, get(n).outs as never),
      verify: async (_c, n, ok) => (ok ? await countByName("connection", `conn-${n}`) : 0),
    },
    {
      resource: "AccessKey",
      op: "create",
      route: "POST /v1/access-keys",
      field: "key",
      run: (ctx, n) => accessKey.create(ctx, akIn(n)),
      verify: createdOnce("access_key", (n) => `ak-${n}`),
    },
    {
      resource: "AccessKey",
      op: "read",
      route: "GET /v1/access-keys/:id",
      field: "created_at",
      setup: setupWith((ctx, n) => accessKey.create(ctx, akIn(n))),
      run: (ctx, n) => accessKey.read(ctx, get(n).id, get(n).outs as never),
      verify: readKeeps,
    },
    {
      resource: "AccessKey",
      op: "delete",
      route: "DELETE /v1/access-keys/:id",
      field: "id",
      setup: setupWith((ctx, n) => accessKey.create(ctx, akIn(n))),
      run: (ctx, n) => accessKey.delete(ctx, get(n).id, get(n).outs as never),
      verify: async (_c, n, ok) => (ok ? await countByName("access_key", `ak-${n}`) : 0),
    },
    {
      resource: "PersonalAccessToken",
      op: "create",
      route: "POST /v1/personal-access-tokens",
      field: "key",
      run: (ctx, n) => personalAccessToken.create(ctx, patIn(n)),
      verify: createdOnce("personal_access_token", (n) => `pat-${n}`),
    },
    {
      resource: "PersonalAccessToken",
      op: "read",
      route: "GET /v1/personal-access-tokens/:id",
      field: "created_at",
      setup: setupWith((ctx, n) => personalAccessToken.create(ctx, patIn(n))),
      run: (ctx, n) => personalAccessToken.read(ctx, get(n).id, get(n).outs as never),
      verify: readKeeps,
    },
    {
      resource: "PersonalAccessToken",
      op: "delete",
      route: "DELETE /v1/personal-access-tokens/:id",
      field: "id",
      setup: setupWith((ctx, n) => personalAccessToken.create(ctx, patIn(n))),
      run: (ctx, n) => personalAccessToken.delete(ctx, get(n).id, get(n).outs as never),
      verify: async (_c, n, ok) => (ok ? await countByName("personal_access_token", `pat-${n}`) : 0),
    },
    {
      resource: "ServiceDeployment",
      op: "create",
      route: "POST /v1/services/:id/deploy",
      field: "id",
      run: (ctx, n) => serviceDeployment.create(ctx, depIn(n)),
      verify: async (_c, n, ok) => {
        const deps = (await records<{ image: string }>(emu, "deployment")).filter(
          (d) => d.image === depIn(n).image,
        );
        return Math.max(0, deps.length - (ok ? 1 : 0));
      },
    },
    {
      resource: "ServiceDeployment",
      op: "poll",
      route: "GET /v1/services/:id/deployments/:deployment_id",
      field: "status",
      run: (ctx, n) => serviceDeployment.create(ctx, depIn(n)),
      verify: async (_c, n) => {
        const deps = (await records<{ image: string }>(emu, "deployment")).filter(
          (d) => d.image === depIn(n).image,
        );
        // A failed poll leaves the deployment the platform runs (nothing to revoke; it is history): not an orphan
        // of a credential, but counted when there is more than one.
        return Math.max(0, deps.length - 1);
      },
    },
    {
      resource: "ServiceDeployment",
      op: "read",
      route: "GET /v1/services/:id",
      field: "active_deployment_id",
      setup: setupWith((ctx, n) => serviceDeployment.create(ctx, depIn(n))),
      run: (ctx, n) => serviceDeployment.read(ctx, get(n).id, get(n).outs as never),
      verify: readKeeps,
    },
    {
      resource: "ServiceEnvVariables",
      op: "create",
      route: "POST /flightcontrol/v1/services/:serviceId/env-variables",
      field: "status",
      run: (ctx, n) => serviceEnvVariables.create(ctx, fcIn(n)),
      ...nameKeyed(fcNames, fcDeclared, (_n, ok, result) => fcStateOf(ok, result)),
    },
    {
      resource: "ServiceEnvVariables",
      op: "poll",
      route: "GET /flightcontrol/v1/services/:serviceId/env-variables/status",
      field: "isFinished",
      run: (ctx, n) => serviceEnvVariables.create(ctx, fcIn(n)),
      ...nameKeyed(fcNames, fcDeclared, (_n, ok, result) => fcStateOf(ok, result)),
    },
    {
      resource: "ServiceEnvVariables",
      op: "read",
      route: "GET /flightcontrol/v1/services/:serviceId/env-variables",
      field: "envVariables",
      setup: setupWith((ctx, n) => serviceEnvVariables.create(ctx, fcIn(n))),
      run: (ctx, n) => serviceEnvVariables.read(ctx, get(n).id, get(n).outs as never),
      verify: readKeeps,
    },
    {
      resource: "ServiceEnvVariables",
      op: "delete",
      route: "DELETE /flightcontrol/v1/services/:serviceId/env-variables/:name",
      field: "id",
      setup: setupWith((ctx, n) => serviceEnvVariables.create(ctx, fcIn(n))),
      run: (ctx, n) => serviceEnvVariables.delete(ctx, get(n).id, get(n).outs as never),
      ...nameKeyed(fcNames, fcDeclared, (n, ok) => (ok ? [] : fcRecorded(get(n).outs))),
    },
    {
      resource: "BackendSecret",
      op: "create",
      route: "PUT /dypai/api/engine/:id/secrets/:name",
      field: "version",
      run: (ctx, n) => backendSecret.create(ctx, dyIn(n)),
      ...nameKeyed(dyNames, dyDeclared, (n, ok) => (ok ? dyDeclared(n) : [])),
    },
    {
      resource: "BackendSecret",
      op: "read",
      route: "GET /dypai/api/engine/:id/secrets/:name",
      field: "version",
      setup: setupWith((ctx, n) => backendSecret.create(ctx, dyIn(n))),
      run: (ctx, n) => backendSecret.read(ctx, get(n).id, get(n).outs as never),
      verify: readKeeps,
    },
    {
      resource: "BackendSecret",
      op: "delete",
      route: "DELETE /dypai/api/engine/:id/secrets/:name",
      field: "version",
      setup: setupWith((ctx, n) => backendSecret.create(ctx, dyIn(n))),
      run: (ctx, n) => backendSecret.delete(ctx, get(n).id, get(n).outs as never),
      ...nameKeyed(dyNames, dyDeclared, (n, ok) => (ok ? [] : dyDeclared(n))),
    },
  ];
}

/** The table as docs/faults.md writes it: `resource op` -> fault name -> outcome. */
function documented(): Map<string, Map<string, string>> {
  const text = fs.existsSync(DOC) ? fs.readFileSync(DOC, "utf8") : "";
  const start = text.indexOf("<!-- fault-table:start -->");
  const end = text.indexOf("<!-- fault-table:end -->");
  const out = new Map<string, Map<string, string>>();
  if (start < 0 || end < 0) return out;
  const rows = text
    .slice(start, end)
    .split("\n")
    .filter((l) => l.startsWith("|"));
  const header = rows[0].split("|").map((c) => c.trim());
  for (const row of rows.slice(2)) {
    const cells = row.split("|").map((c) => c.trim());
    const m = new Map<string, string>();
    header.forEach((h, i) => i > 1 && h && m.set(h, cells[i]));
    out.set(cells[1], m);
  }
  return out;
}

function renderTable(results: Map<string, Map<string, Outcome>>): string {
  const names = FAULTS.map((f) => f.name);
  const lines = [
    `| operation | ${names.join(" | ")} |`,
    `|---|${names.map(() => "---").join("|")}|`,
    ...[...results].map(([op, m]) => `| ${op} | ${names.map((n) => m.get(n)).join(" | ")} |`),
  ];
  return lines.join("\n");
}

beforeAll(async () => {
  emu = await startEmulator({ port: 0, log: (l) => logLines.push(l) });
  ({ orgId, projectId, serviceId } = emu.dynamiq);
  fcService = emu.flightcontrol.serviceId;
  engineId = emu.dypai.engineId;
  ctx = contextOf(emu);
  await adminCall(emu, "POST", `flightcontrol/services/${fcService}/async-delay`, { ms: 20 });
  journalBefore = process.env.DYNAMIQ_PROVIDER_JOURNAL;
  process.env.DYNAMIQ_PROVIDER_JOURNAL = "off";
  audit.add(emu.dynamiq.userPat, emu.flightcontrol.apiKey, emu.dypai.token);
});

afterAll(async () => {
  await emu?.close();
  audit.scan({ "emulator log": logLines.join("\n"), "error messages": errors.join("\n") });
  expect(audit.found).toEqual([]);
  setEnv("DYNAMIQ_PROVIDER_JOURNAL", journalBefore);
});

const OPS = ops();
const opName = (op: Op) => `${op.resource} ${op.op}`;
const hitsOf = async (route: string) => (await routeCounts(emu))[route] ?? 0;

describe("fault table", () => {
  // One describe per operation (its baseline first), one test per fault: a failing cell hides no other.
  describe.each(OPS.map((op, i) => [opName(op), op, i] as const))("%s", (name, op, i) => {
    // Cell numbers: the baseline, then one per fault; they name what each cell creates.
    const first = i * (FAULTS.length + 1) + 1;
    let baseline = 0;

    beforeAll(async () => {
      // How many requests the faulted route sees without a fault.
      audit.add(secretOf(first));
      if (op.setup) await op.setup(ctx, first);
      const before = await hitsOf(op.route);
      await op.run(ctx, first);
      baseline = (await hitsOf(op.route)) - before;
    });

    it.each(FAULTS.map((fault, j) => [fault.name, fault, j] as const))("under %s", async (_f, fault, j) => {
      const cell = first + 1 + j;
      const label = `${name} / ${fault.name}`;
      const before = op.snapshot ? await op.snapshot() : undefined;
      if (op.setup) await op.setup(ctx, cell);
      const hitsBefore = await hitsOf(op.route);
      const logBefore = reconcileLog.length;
      const lostBefore = statesLost;
      let ok = true;
      let result: unknown;
      let firedKinds: Record<string, number>;
      audit.add(secretOf(cell), secretOf(cell) + "-2");
      await arm(emu, { route: op.route, times: 1, ...fault.arm, field: op.field });
      try {
        try {
          result = await op.run(ctx, cell);
          audit.add((result as { outs?: { key?: string } } | null)?.outs?.key);
        } catch (e) {
          ok = false;
          result = e;
          errors.push(String((e as Error).message));
        }
        firedKinds = await fired(emu);
      } finally {
        await disarm(emu);
      }
      if (!ok) {
        // A clear error: ours, naming the platform, never a bare runtime error.
        expect(ProviderError.is(result), `${label}: ${String(result)}`).toBe(true);
        expect((result as Error).message).toMatch(/^(dynamiq|flightcontrol|dypai)[: ]/);
      }
      expect(
        Object.values(firedKinds).reduce((a, b) => a + b, 0),
        `${op.route} ${fault.name}`,
      ).toBe(1);
      const hits = (await hitsOf(op.route)) - hitsBefore;
      const outcome: Outcome = !ok
        ? "error"
        : reconcileLog.slice(logBefore).some((r) => r.action !== "none") ||
            (reconcileLog.length > logBefore && hits > baseline)
          ? "reconciled"
          : hits > baseline
            ? "retried"
            : "ok";
      if (!results.has(name)) results.set(name, new Map());
      results.get(name)!.set(fault.name, outcome);
      const orphans = await op.verify(ctx, cell, ok, result, before);
      orphansFound += orphans;
      expect.soft(orphans, `${label}: orphans`).toBe(0);
      expect.soft(statesLost - lostBefore, `${label}: state entries lost`).toBe(0);
      if (!UPDATE)
        expect.soft(`${label}: ${documented().get(name)?.get(fault.name)}`).toBe(`${label}: ${outcome}`);
    });
  });

  it("docs/faults.md has one row per operation and one column per fault, each the outcome found", () => {
    const cells = [...results.values()].reduce((a, row) => a + row.size, 0);
    if (UPDATE) {
      expect(cells, "every cell decided its outcome, so the table can be written").toBe(
        OPS.length * FAULTS.length,
      );
      const text = fs.readFileSync(DOC, "utf8");
      const start = text.indexOf("<!-- fault-table:start -->") + "<!-- fault-table:start -->".length;
      const end = text.indexOf("<!-- fault-table:end -->");
      fs.writeFileSync(DOC, text.slice(0, start) + "\n" + renderTable(results) + "\n" + text.slice(end));
    }
    const doc = documented();
    expect([...doc.keys()]).toEqual(OPS.map(opName));
    for (const [op, row] of doc) expect([...row.keys()], op).toEqual(FAULTS.map((f) => f.name));
    for (const [op, row] of results)
      for (const [fault, outcome] of row)
        expect(`${op} / ${fault}: ${doc.get(op)?.get(fault)}`).toBe(`${op} / ${fault}: ${outcome}`);
    console.log(
      `fault table: ${cells} cells (${FAULTS.length} faults x ${results.size} operations), orphans ${orphansFound}, state entries lost ${statesLost}`,
    );
    expect(orphansFound).toBe(0);
    expect(statesLost).toBe(0);
  });

  it("bounds retries in count and time, honours Retry-After up to its cap, and never repeats a create blindly", async () => {
    const ctx = contextOf(emu);
    const route = "GET /v1/access-keys/:id";
    const { id, outs } = await accessKey.create(ctx, { name: "bounds", orgId, projectId });
    audit.add(outs.key);
    const hits = async () => (await routeCounts(emu))[route] ?? 0;

    // Retry-After within the cap: waited, then retried once (the fault fires once).
    const within = 0.3;
    expect(within * 1000).toBeLessThan(RETRY.maxRetryAfterMs);
    const times = 1;
    let h0 = await hits();
    await arm(emu, { route, kind: "status", status: 429, retryAfter: within, times });
    let t0 = Date.now();
    expect(await accessKey.read(ctx, id, outs)).not.toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(within * 1000 - 10);
    expect((await hits()) - h0).toBe(1 + times);

    // Retry-After beyond the cap (maxRetryAfterMs: 1 s in these tests, 30 s by default): fails at once, without
    // waiting for the cap.
    const beyond = 3600;
    expect(beyond * 1000).toBeGreaterThan(RETRY.maxRetryAfterMs);
    h0 = await hits();
    await arm(emu, { route, kind: "status", status: 429, retryAfter: beyond, times });
    t0 = Date.now();
    const capped = await accessKey.read(ctx, id, outs).catch((e) => e);
    expect(capped.code).toBe("rate_limited");
    expect(Date.now() - t0).toBeLessThan(RETRY.maxRetryAfterMs);
    // One request and no retry, however many times the fault would fire.
    expect((await hits()) - h0).toBe(1);
    await disarm(emu);

    // A persistent 503: at most 1 + maxRetries requests, then a clear error, state kept.
    h0 = await hits();
    await arm(emu, { route, kind: "status", status: 503, times: 100 });
    const persistent = await accessKey.read(ctx, id, outs).catch((e) => e);
    expect(persistent.message).toMatch(/^dynamiq: GET \/v1\/access-keys\/.* returned 503/);
    expect((await hits()) - h0).toBe(1 + RETRY.maxRetries);
    await disarm(emu);

    // A create whose answers keep being lost: at most MAX_CREATE_ATTEMPTS POSTs, each checked, then an error;
    // nothing left behind.
    const post = "POST /v1/access-keys";
    const p0 = (await routeCounts(emu))[post] ?? 0;
    await arm(emu, { route: post, kind: "commit_drop", times: 100 });
    const lost = await accessKey.create(ctx, { name: "always-lost", orgId, projectId }).catch((e) => e);
    await disarm(emu);
    expect(ProviderError.is(lost)).toBe(true);
    expect(((await routeCounts(emu))[post] ?? 0) - p0).toBe(MAX_CREATE_ATTEMPTS);
    const left = (await records<{ name: string }>(emu, "access_key")).filter((k) => k.name === "always-lost");
    expect(left).toEqual([]);
  });
});

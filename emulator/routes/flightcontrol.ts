// Flightcontrol service env variables (flightcontrol-env-variables-api.txt), mounted under `/flightcontrol`:
// the documented POST with its six groups and its 200/202 answers, the documented run status endpoint, and an
// assumed read-back and delete. Admin routes (under `/_admin/flightcontrol/`) let tests see the stored values,
// change or remove variables out of band, arm failures and set the duration of async runs.
import { randomUUID } from "node:crypto";

import {
  FC_ASYNC_GROUPS,
  FC_GROUPS,
  cuid,
  DEFAULT_FC_ASYNC_DELAY_MS,
  type FcGroup,
  type FcRunItem,
  type FcRunRecord,
  type FcServiceRecord,
  type FcValue,
  type FcVariableRecord,
} from "../companions";
import type { EmulatorContext } from "../context";
import { HttpError, validationError, type FieldError, type RequestContext, type Route } from "../http";
import { fingerprint } from "../secrets";
import { isoTime } from "../store";

/** Variable names accepted (assumed: the portable shell rule; nothing public says). */
export const FC_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The path prefix Flightcontrol routes are mounted under. */
export const FLIGHTCONTROL_PREFIX = "/flightcontrol";

// ---------------------------------------------------------------------------------------------------------------
// Authentication: `Authorization: Bearer: <key>` as documented, and the usual `Bearer <key>` too.
// ---------------------------------------------------------------------------------------------------------------

function unauthorized(message: string): HttpError {
  return new HttpError(401, "unauthorized", message, {}, { "www-authenticate": "Bearer" });
}

export function requireFlightcontrolKey(ctx: RequestContext, emu: EmulatorContext): void {
  const header = ctx.headers.authorization;
  if (header === undefined || header.trim() === "") throw unauthorized("missing Authorization header");
  const m = /^Bearer(?::[ ]*|[ ]+)(\S+)[ ]*$/i.exec(header);
  if (!m) throw unauthorized("malformed Authorization header: expected 'Bearer: <API key>'");
  const expected = emu.store.companions.flightcontrol_api_key_emulator_fixture;
  if (fingerprint(m[1]) !== fingerprint(expected)) throw unauthorized("invalid API key");
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/** A timestamp strictly later than `prev`, so that every write moves `updatedAt`. */
function nextStamp(prev?: string): string {
  let ms = Date.now();
  const p = prev ? Date.parse(prev) : NaN;
  if (!Number.isNaN(p) && ms <= p) ms = p + 1;
  return isoTime(ms);
}

function referenceFor(serviceId: string, group: "parameterStore" | "secretsManager", name: string): string {
  return group === "parameterStore"
    ? `/fc/${serviceId}/${name}`
    : `arn:aws:secretsmanager:us-east-1:000000000000:secret:fc/${serviceId}/${name}`;
}

function serviceOf(emu: EmulatorContext, id: string): FcServiceRecord {
  const s = emu.store.flightcontrol.services.find((x) => x.id === id);
  if (!s) throw new HttpError(404, "not_found", "service not found");
  return s;
}

function setVariable(
  emu: EmulatorContext,
  service: FcServiceRecord,
  v: Omit<FcVariableRecord, "updated_at">,
) {
  const existing = service.variables.find((x) => x.name === v.name);
  const updated_at = nextStamp(existing?.updated_at);
  if (existing) Object.assign(existing, v, { updated_at });
  else service.variables.push({ ...v, updated_at });
  emu.store.commit();
}

/** A newer write (or a delete) of a name cancels that name's pending processing in older runs. */
function supersede(emu: EmulatorContext, serviceId: string, names: Set<string>, reason: string): void {
  for (const run of emu.store.flightcontrol.runs) {
    if (run.service_id !== serviceId) continue;
    for (const item of run.items) {
      if (item.state === "pending" && names.has(item.name)) {
        item.state = "failed";
        item.error = reason;
        item.value = null;
      }
    }
  }
}

/** Processes one pending item of a run: stores it, or fails it when it was armed to fail. */
export function processRunItem(emu: EmulatorContext, runId: string, name: string): void {
  const run = emu.store.flightcontrol.runs.find((r) => r.id === runId);
  const item = run?.items.find((i) => i.name === name);
  if (!run || !item || item.state !== "pending") return;
  const service = emu.store.flightcontrol.services.find((s) => s.id === run.service_id);
  if (!service) return;
  if (item.planned_failure !== null) {
    item.state = "failed";
    item.error = item.planned_failure;
  } else {
    const reference = referenceFor(service.id, item.group, item.name);
    item.state = "stored";
    item.reference = reference;
    setVariable(emu, service, { name: item.name, group: item.group, value: item.value ?? "", reference });
  }
  item.value = null;
  emu.store.commit();
}

function schedule(emu: EmulatorContext, run: FcRunRecord): void {
  for (const item of run.items) {
    if (item.state !== "pending") continue;
    emu.later(Math.max(0, item.due_at - Date.now()), () => processRunItem(emu, run.id, item.name));
  }
}

/** Schedules the pending items of every run again (after a restart with `--state`). */
export function resumeFlightcontrolRuns(emu: EmulatorContext): void {
  for (const run of emu.store.flightcontrol.runs) schedule(emu, run);
}

function finishRunsNow(emu: EmulatorContext, serviceId: string): string[] {
  const finished: string[] = [];
  for (const run of emu.store.flightcontrol.runs) {
    if (run.service_id !== serviceId || !run.items.some((i) => i.state === "pending")) continue;
    for (const item of run.items) processRunItem(emu, run.id, item.name);
    finished.push(run.id);
  }
  return finished;
}

function runStatus(run: FcRunRecord): Record<string, unknown> {
  const stored: Record<string, Record<string, string>> = {};
  const failed: Record<string, { error: string }> = {};
  for (const item of run.items) {
    if (item.state === "stored" && item.reference) {
      stored[item.name] =
        item.group === "parameterStore"
          ? { fromParameterStore: item.reference }
          : { fromSecretsManager: item.reference };
    } else if (item.state === "failed") {
      failed[item.name] = { error: item.error ?? "failed" };
    }
  }
  const processed = run.items.filter((i) => i.state !== "pending").length;
  return {
    isFinished: processed === run.items.length,
    processedEnvVariables: processed,
    totalExpectedEnvVars: run.items.length,
    storedEnvVariables: stored,
    failedEnvVariables: failed,
  };
}

/** The read-back view of one variable (assumed): secret values of FC-managed groups are never returned. */
function presentVariable(v: FcVariableRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { type: v.group };
  if ((FC_ASYNC_GROUPS as readonly string[]).includes(v.group)) out.reference = v.reference;
  else out.value = v.value;
  out.updatedAt = v.updated_at;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Request validation (assumed rules: nothing public says what is refused)
// ---------------------------------------------------------------------------------------------------------------

type Parsed = Array<{ name: string; group: FcGroup; value: FcValue }>;

function nonEmptyString(v: unknown): v is string {
  return typeof v === "string" && v !== "";
}

function parseGroups(body: Record<string, unknown>): Parsed {
  const errors: FieldError[] = [];
  const out: Parsed = [];
  const seen = new Map<string, FcGroup>();
  for (const group of FC_GROUPS) {
    const raw = body[group];
    if (raw === undefined) continue;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      errors.push({ field: group, message: `${group} must be an object of variable name to value` });
      continue;
    }
    for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
      const field = `${group}.${name}`;
      if (!FC_NAME_PATTERN.test(name)) {
        errors.push({
          field,
          message: `${field}: variable names consist of letters, digits and _ and do not start with a digit`,
        });
        continue;
      }
      const other = seen.get(name);
      if (other) {
        errors.push({ field, message: `${field}: ${name} is also given in ${other}` });
        continue;
      }
      seen.set(name, group);
      if (group === "fromService") {
        const ref = value as Record<string, unknown> | null;
        if (
          ref === null ||
          typeof ref !== "object" ||
          Array.isArray(ref) ||
          !nonEmptyString(ref.id) ||
          !nonEmptyString(ref.value)
        ) {
          errors.push({ field, message: `${field} must be an object {id, value} of non-empty strings` });
          continue;
        }
        out.push({ name, group, value: { id: ref.id, value: ref.value } });
        continue;
      }
      // Values are never quoted in messages: they may be secrets.
      if (typeof value !== "string") {
        errors.push({ field, message: `${field} must be a string` });
        continue;
      }
      if ((group === "parameterStore" || group === "secretsManager") && value === "") {
        errors.push({ field, message: `${field} must not be empty` });
        continue;
      }
      if (group === "fromParameterStore" && !/^(\/|arn:)/.test(value)) {
        errors.push({ field, message: `${field} must be a parameter path (/...) or a parameter ARN` });
        continue;
      }
      if (group === "fromSecretsManager" && !value.startsWith("arn:")) {
        errors.push({ field, message: `${field} must be a secret ARN` });
        continue;
      }
      out.push({ name, group, value });
    }
  }
  if (errors.length > 0) throw validationError(errors);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------------------------

/** The Flightcontrol API; mount under {@link FLIGHTCONTROL_PREFIX}. */
export function flightcontrolRoutes(emu: EmulatorContext): Route[] {
  const { store } = emu;
  return [
    {
      method: "POST",
      path: "/v1/services/:serviceId/env-variables",
      handler: (ctx) => {
        requireFlightcontrolKey(ctx, emu);
        const service = serviceOf(emu, ctx.params.serviceId);
        const vars = parseGroups(ctx.json());
        const sync = vars.filter((v) => !(FC_ASYNC_GROUPS as readonly string[]).includes(v.group));
        const async = vars.filter((v) => (FC_ASYNC_GROUPS as readonly string[]).includes(v.group));
        supersede(emu, service.id, new Set(vars.map((v) => v.name)), "superseded by a newer write");
        for (const v of sync) setVariable(emu, service, { ...v, reference: null });
        if (async.length === 0) {
          store.commit();
          return { status: 200, body: { status: "completed", savedCount: sync.length } };
        }
        const now = Date.now();
        const delay = service.async_delay_ms;
        const items: FcRunItem[] = async.map((v, i) => {
          const armed = service.fail_next[v.name];
          if (armed !== undefined) delete service.fail_next[v.name];
          return {
            name: v.name,
            group: v.group as "parameterStore" | "secretsManager",
            value: v.value as string,
            state: "pending",
            planned_failure: armed ?? null,
            reference: null,
            error: null,
            due_at: now + Math.round((delay * (i + 1)) / async.length),
          };
        });
        const run: FcRunRecord = {
          id: randomUUID(),
          service_id: service.id,
          created_at: isoTime(now),
          items,
          seq: store.nextSeq(),
        };
        store.flightcontrol.runs.push(run);
        store.commit();
        schedule(emu, run);
        return {
          status: 202,
          body: {
            status: "processing",
            runId: run.id,
            savedCount: sync.length,
            processingCount: async.length,
          },
        };
      },
    },
    {
      method: "GET",
      path: "/v1/services/:serviceId/env-variables/status",
      handler: (ctx) => {
        requireFlightcontrolKey(ctx, emu);
        const service = serviceOf(emu, ctx.params.serviceId);
        const runId = ctx.query.get("runId");
        if (!runId) throw validationError([{ field: "runId", message: "runId is required" }]);
        const run = store.flightcontrol.runs.find((r) => r.id === runId && r.service_id === service.id);
        if (!run) throw new HttpError(404, "not_found", "run not found");
        return { status: 200, body: runStatus(run) };
      },
    },
    {
      // Assumed: not in the platform's documents.
      method: "GET",
      path: "/v1/services/:serviceId/env-variables",
      handler: (ctx) => {
        requireFlightcontrolKey(ctx, emu);
        const service = serviceOf(emu, ctx.params.serviceId);
        const sorted = [...service.variables].sort((a, b) =>
          a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
        );
        return {
          status: 200,
          body: { envVariables: Object.fromEntries(sorted.map((v) => [v.name, presentVariable(v)])) },
        };
      },
    },
    {
      // Assumed: not in the platform's documents.
      method: "DELETE",
      path: "/v1/services/:serviceId/env-variables/:name",
      handler: (ctx) => {
        requireFlightcontrolKey(ctx, emu);
        const service = serviceOf(emu, ctx.params.serviceId);
        const name = ctx.params.name;
        const index = service.variables.findIndex((v) => v.name === name);
        supersede(emu, service.id, new Set([name]), "superseded by a delete");
        if (index < 0) {
          store.commit();
          throw new HttpError(404, "not_found", "environment variable not found");
        }
        service.variables.splice(index, 1);
        store.commit();
        return { status: 204 };
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Admin surface
// ---------------------------------------------------------------------------------------------------------------

function bad(field: string, message: string): HttpError {
  return validationError([{ field, message }]);
}

/** `/_admin/flightcontrol/...`: loopback only, not counted. */
export function flightcontrolAdminRoutes(emu: EmulatorContext): Route[] {
  const { store } = emu;
  const route = (method: string, path: string, handler: (ctx: RequestContext) => unknown): Route => ({
    method,
    path: `/_admin/flightcontrol${path}`,
    admin: true,
    handler: (ctx) => ({ status: 200, body: handler(ctx) }),
  });
  return [
    route("POST", "/services", (ctx) => {
      const body = ctx.jsonOrEmpty();
      if (body.name !== undefined && typeof body.name !== "string")
        throw bad("name", "name must be a string");
      const id = cuid();
      const service: FcServiceRecord = {
        id,
        name: (body.name as string | undefined) ?? `service-${id.slice(1, 7)}`,
        created_at: isoTime(),
        async_delay_ms: store.flightcontrol.services[0]?.async_delay_ms ?? DEFAULT_FC_ASYNC_DELAY_MS,
        fail_next: {},
        variables: [],
        seq: store.nextSeq(),
      };
      store.flightcontrol.services.push(service);
      store.commit();
      return { id, name: service.name };
    }),
    route("GET", "/services/:id/env", (ctx) => {
      const s = serviceOf(emu, ctx.params.id);
      const variables = Object.fromEntries(
        s.variables.map((v) => [
          v.name,
          { group: v.group, value: v.value, reference: v.reference, updated_at: v.updated_at },
        ]),
      );
      const pending = store.flightcontrol.runs
        .filter((r) => r.service_id === s.id)
        .flatMap((r) => r.items.filter((i) => i.state === "pending").map((i) => i.name));
      return { service_id: s.id, variables, pending };
    }),
    route("POST", "/services/:id/env/:name", (ctx) => {
      const s = serviceOf(emu, ctx.params.id);
      const name = ctx.params.name;
      if (!FC_NAME_PATTERN.test(name)) throw bad("name", "not a valid variable name");
      const body = ctx.json();
      const existing = s.variables.find((v) => v.name === name);
      const group = (body.group ?? existing?.group ?? "plainText") as FcGroup;
      if (!FC_GROUPS.includes(group)) throw bad("group", `group must be one of ${FC_GROUPS.join(", ")}`);
      const value = body.value;
      const okValue =
        group === "fromService"
          ? value !== null &&
            typeof value === "object" &&
            nonEmptyString((value as Record<string, unknown>).id) &&
            nonEmptyString((value as Record<string, unknown>).value)
          : typeof value === "string";
      if (!okValue) throw bad("value", "value must be a string ({id, value} for fromService)");
      const reference =
        group === "parameterStore" || group === "secretsManager" ? referenceFor(s.id, group, name) : null;
      supersede(emu, s.id, new Set([name]), "superseded by a newer write");
      setVariable(emu, s, { name, group, value: value as FcValue, reference });
      const v = s.variables.find((x) => x.name === name) as FcVariableRecord;
      return { name, group, updated_at: v.updated_at };
    }),
    route("DELETE", "/services/:id/env/:name", (ctx) => {
      const s = serviceOf(emu, ctx.params.id);
      const index = s.variables.findIndex((v) => v.name === ctx.params.name);
      if (index < 0) throw new HttpError(404, "not_found", "environment variable not found");
      s.variables.splice(index, 1);
      store.commit();
      return { deleted: true, name: ctx.params.name };
    }),
    route("POST", "/services/:id/fail-next", (ctx) => {
      const s = serviceOf(emu, ctx.params.id);
      const body = ctx.json();
      if (typeof body.name !== "string" || !FC_NAME_PATTERN.test(body.name)) {
        throw bad("name", "name is required and must be a variable name");
      }
      if (body.message !== undefined && typeof body.message !== "string") {
        throw bad("message", "message must be a string");
      }
      s.fail_next[body.name] =
        (body.message as string | undefined) ??
        "AccessDeniedException: not authorized to perform ssm:PutParameter";
      store.commit();
      return { id: s.id, fail_next: { ...s.fail_next } };
    }),
    route("POST", "/services/:id/async-delay", (ctx) => {
      const s = serviceOf(emu, ctx.params.id);
      const body = ctx.json();
      if (typeof body.ms !== "number" || !Number.isInteger(body.ms) || body.ms < 0 || body.ms > 600_000) {
        throw bad("ms", "ms must be an integer between 0 and 600000");
      }
      s.async_delay_ms = body.ms;
      store.commit();
      return { id: s.id, async_delay_ms: s.async_delay_ms };
    }),
    route("POST", "/services/:id/finish-runs", (ctx) => {
      const s = serviceOf(emu, ctx.params.id);
      return { id: s.id, finished: finishRunsNow(emu, s.id) };
    }),
  ];
}

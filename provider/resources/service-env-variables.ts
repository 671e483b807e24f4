// Flightcontrol service env variables: a declared set of variable names on one service, in the six groups of
// the platform's POST (plain text, FC-managed Parameter Store and Secrets Manager secrets, references to
// parameters and secrets the user manages, values linked from other services).
//
// - Only the declared names are managed. Variables set elsewhere on the service are neither changed nor reported
//   as drift, so several resources (or stacks) may manage different names of one service.
// - Every change set is ONE POST carrying exactly the names that changed. FC-managed secrets are stored by an
//   asynchronous run that is polled with backoff up to our own deadline (`timeoutSeconds`).
// - Any change of names, groups or values is an in-place update; only a new `serviceId` replaces (and then the
//   create and the delete act on different services, so the delete can never remove what the create wrote).
// - A removed name is deleted through the (assumed) per-name DELETE, but only while the platform's `updatedAt`
//   is still the one our own write produced: a variable written since by someone else is left alone.
// - When a run fails or does not finish, the error names the variables and the run id (never a value) and the
//   state records exactly what was stored.
import { createHash } from "node:crypto";
import type { z as Z } from "zod";
import { OperationError, redact, type InputFailure } from "../errors";
import {
  FC_GROUPS,
  FC_SECRET_GROUPS,
  type EnvVariablesBody,
  type FcGroup,
  type FlightcontrolClient,
  type RemoteVariable,
  type RunStatus,
  type ServiceReference,
} from "../clients/flightcontrol";
import { pollUntil } from "../poll";
import {
  containsUnknown,
  isUnknown,
  jsonEqual,
  unlessGone,
  type ResourceContext,
  type ResourceDefinition,
} from "../resource";
import { failuresOf, typeName, userInputs } from "../validate";

/** The declared variables of one service, in the six groups of the platform's POST. */
export interface ServiceEnvVariablesInputs {
  /** The Flightcontrol service the variables belong to; changing it replaces the resource. */
  serviceId: string;
  /** Plain text variables, stored in Flightcontrol's database. */
  plainText?: Record<string, string>;
  /** FC-managed secrets in AWS Parameter Store: name -> secret value. Secrets in state. */
  parameterStore?: Record<string, string>;
  /** FC-managed secrets in AWS Secrets Manager: name -> secret value. Secrets in state. */
  secretsManager?: Record<string, string>;
  /** References to parameters you manage: name -> parameter path (`/my-org/param`) or parameter ARN. */
  fromParameterStore?: Record<string, string>;
  /** References to secrets you manage: name -> secret ARN. */
  fromSecretsManager?: Record<string, string>;
  /** Values linked from other services: name -> `{ id: <service id>, value: <property> }`. */
  fromService?: Record<string, ServiceReference>;
  /** How long to wait for FC-managed secrets to be stored (default 300 s); customTimeouts do not reach here. */
  timeoutSeconds?: number;
}

export interface ServiceEnvVariablesOutputs extends ServiceEnvVariablesInputs {
  /** For each FC-managed secret: the parameter path or secret ARN Flightcontrol created. */
  references?: Record<string, string>;
  /**
   * For each managed name: the platform's `updatedAt` right after our own write. Refresh compares it to find
   * FC-managed secrets changed out of band; delete compares it so as never to remove someone else's write.
   */
  versions?: Record<string, string>;
  /** FC-managed secrets whose `updatedAt` moved since our write (found by refresh): rewritten on the next up. */
  changedOutOfBand?: string[];
  /** The run that stored FC-managed secrets last. */
  lastRunId?: string;
}

export const DEFAULT_TIMEOUT_S = 300;
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_NAME = 255;
const SERVICE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** AWS limits: Parameter Store standard parameters hold 4 KB, Secrets Manager secrets 64 KB. */
const MAX_PARAMETER_VALUE = 4096;
const MAX_SECRET_VALUE = 65536;
const MAX_PLAIN_VALUE = 65536;
const PARAM_PATH_RE = /^(\/[A-Za-z0-9_.-]+)+$/;
const PARAM_ARN_RE = /^arn:aws[a-z-]*:ssm:[a-z]{2}(-[a-z]+)+-\d:\d{1,12}:parameter\/[A-Za-z0-9_.\-/]+$/;
// The account id in the platform's own example has 9 digits, so 1..12 are accepted.
const SECRET_ARN_RE =
  /^arn:aws[a-z-]*:secretsmanager:[a-z]{2}(-[a-z]+)+-\d:\d{1,12}:secret:[A-Za-z0-9/_+=.@:-]+$/;
const REF_PROPERTY_RE = /^[A-Za-z][A-Za-z0-9_]*$/;

function isSecretGroup(g: FcGroup): boolean {
  return (FC_SECRET_GROUPS as readonly string[]).includes(g);
}

// ---------------------------------------------------------------------------------------------------------------
// check
// ---------------------------------------------------------------------------------------------------------------

let schema: Z.ZodType | undefined;
function inputSchema(): Z.ZodType {
  if (schema) return schema;
  const { z } = require("zod") as typeof import("zod");
  const group = z.record(z.string(), z.unknown()).optional();
  schema = z.strictObject({
    serviceId: z
      .string()
      .regex(SERVICE_ID_RE, "must be a Flightcontrol service id (letters, digits, - and _, up to 128)"),
    plainText: group,
    parameterStore: group,
    secretsManager: group,
    fromParameterStore: group,
    fromSecretsManager: group,
    fromService: group,
    timeoutSeconds: z
      .number({ error: "must be a number of seconds" })
      .int("must be a whole number of seconds")
      .min(1, "must be at least 1")
      .max(3600, "must be at most 3600")
      .optional(),
  });
  return schema;
}

function valueFailure(group: FcGroup, value: unknown): string | undefined {
  if (group === "fromService") {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return `must be an object { id, value } naming a service and one of its properties, got ${typeName(value)}`;
    }
    const ref = value as Record<string, unknown>;
    const extra = Object.keys(ref).filter((k) => k !== "id" && k !== "value");
    if (extra.length > 0) return `unknown field ${extra.join(", ")}; only id and value are allowed`;
    if (isUnknown(ref.id) || isUnknown(ref.value)) return undefined;
    if (typeof ref.id !== "string" || ref.id === "") return "needs id: the id of the service to read from";
    if (!SERVICE_ID_RE.test(ref.id)) return "id must be a Flightcontrol service id";
    if (typeof ref.value !== "string" || ref.value === "") {
      return "needs value: the property of that service to reference, e.g. connectionString";
    }
    if (!REF_PROPERTY_RE.test(ref.value)) return "value must be a property name such as connectionString";
    return undefined;
  }
  if (typeof value !== "string") return `must be a string, got ${typeName(value)}`;
  switch (group) {
    case "plainText":
      if (value.length > MAX_PLAIN_VALUE) return `must be at most ${MAX_PLAIN_VALUE} characters`;
      if (value.includes("\u0000") || !value.isWellFormed()) return "must not contain NUL or invalid unicode";
      return undefined;
    case "parameterStore":
    case "secretsManager": {
      // Never quote the value: it is a secret.
      if (value === "") return "must not be empty: AWS refuses an empty secret";
      const max = group === "parameterStore" ? MAX_PARAMETER_VALUE : MAX_SECRET_VALUE;
      if (Buffer.byteLength(value, "utf8") > max) {
        return `must be at most ${max} bytes (the AWS ${group === "parameterStore" ? "Parameter Store standard tier" : "Secrets Manager"} limit)`;
      }
      if (value.includes("\u0000") || !value.isWellFormed()) return "must not contain NUL or invalid unicode";
      return undefined;
    }
    case "fromParameterStore":
      if (value.startsWith("arn:")) {
        return PARAM_ARN_RE.test(value)
          ? undefined
          : "must be a parameter ARN such as arn:aws:ssm:us-east-1:123456789012:parameter/my-org/param";
      }
      if (!PARAM_PATH_RE.test(value) || value.length > 1011) {
        return "must be a parameter path such as /my-org/existing-parameter (a leading /, segments of letters, digits, _ . -) or a parameter ARN";
      }
      if (/^\/(aws|ssm)/i.test(value)) return "must not start with /aws or /ssm: AWS reserves those prefixes";
      return undefined;
    case "fromSecretsManager":
      return SECRET_ARN_RE.test(value)
        ? undefined
        : "must be a Secrets Manager secret ARN such as arn:aws:secretsmanager:us-east-1:123456789012:secret:my-secret";
  }
  return undefined;
}

function check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
  const inputs = userInputs(news);
  const failures: InputFailure[] = failuresOf(inputSchema(), inputs, "");
  const owner = new Map<string, FcGroup>();
  for (const group of FC_GROUPS) {
    const vars = inputs[group];
    if (!vars || typeof vars !== "object" || Array.isArray(vars) || isUnknown(vars)) continue;
    for (const [name, value] of Object.entries(vars as Record<string, unknown>)) {
      const property = `${group}.${name}`;
      if (!NAME_RE.test(name) || name.length > MAX_NAME) {
        failures.push({
          property,
          reason: `must be a valid variable name: letters, digits and _, not starting with a digit, at most ${MAX_NAME} characters`,
        });
      }
      const other = owner.get(name);
      if (other) {
        failures.push({ property, reason: `is also declared in ${other}; a variable belongs to one group` });
      } else {
        owner.set(name, group);
      }
      if (isUnknown(value)) continue;
      const reason = valueFailure(group, value);
      if (reason) failures.push({ property, reason });
    }
  }
  return { inputs: inputs as unknown as ServiceEnvVariablesInputs, failures };
}

// ---------------------------------------------------------------------------------------------------------------
// The declared set as one map: name -> (group, value)
// ---------------------------------------------------------------------------------------------------------------

interface Entry {
  group: FcGroup;
  value: string | ServiceReference;
}

type Entries = Map<string, Entry>;

function entriesOf(v: ServiceEnvVariablesInputs): Entries {
  const out: Entries = new Map();
  for (const group of FC_GROUPS) {
    const vars = v[group] as Record<string, string | ServiceReference> | undefined;
    if (!vars || typeof vars !== "object") continue;
    for (const [name, value] of Object.entries(vars)) out.set(name, { group, value });
  }
  return out;
}

function sameEntry(a: Entry | undefined, b: Entry | undefined): boolean {
  if (!a || !b) return a === b;
  return a.group === b.group && !containsUnknown(b.value) && jsonEqual(a.value, b.value);
}

/**
 * The group fields of a set of entries. A group with no names is left out, unless `shape` (the declaration the
 * state follows) has it: then it stays as `{}`, so that state and inputs keep the declaration's shape.
 */
function groupsOf(entries: Entries, shape: ServiceEnvVariablesInputs): EnvVariablesBody {
  const out: Partial<Record<FcGroup, Record<string, string | ServiceReference>>> = {};
  for (const g of FC_GROUPS) if (shape[g] !== undefined && shape[g] !== null) out[g] = {};
  for (const [name, e] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    (out[e.group] ??= {})[name] = e.value;
  }
  return out as EnvVariablesBody;
}

function secretValuesOf(entries: Iterable<Entry>): string[] {
  const out: string[] = [];
  for (const e of entries) if (isSecretGroup(e.group) && typeof e.value === "string") out.push(e.value);
  return out;
}

/** The resource id: the service and a digest of the names declared at creation (ids never change later). */
export function resourceId(serviceId: string, names: Iterable<string>): string {
  const digest = createHash("sha256")
    .update([...names].sort().join("\n"), "utf8")
    .digest("hex")
    .slice(0, 12);
  return `${serviceId}/env/${digest}`;
}

// ---------------------------------------------------------------------------------------------------------------
// diff
// ---------------------------------------------------------------------------------------------------------------

function diff(_id: string, olds: ServiceEnvVariablesOutputs, news: ServiceEnvVariablesInputs) {
  const replaces: string[] = [];
  if (isUnknown(news.serviceId) || olds.serviceId !== news.serviceId) replaces.push("serviceId");
  const diffs = [...replaces];
  const groupUnknown = FC_GROUPS.filter((g) => isUnknown(news[g]));
  diffs.push(...groupUnknown);
  const before = entriesOf(olds);
  const after = entriesOf({ ...news, ...Object.fromEntries(groupUnknown.map((g) => [g, undefined])) });
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    const a = before.get(name);
    const b = after.get(name);
    if (!sameEntry(a, b)) diffs.push(`${(b ?? a)!.group}.${name}`);
  }
  for (const name of olds.changedOutOfBand ?? []) {
    const b = after.get(name);
    if (b && !diffs.includes(`${b.group}.${name}`)) diffs.push(`${b.group}.${name}`);
  }
  if ((olds.timeoutSeconds ?? undefined) !== (news.timeoutSeconds ?? undefined)) diffs.push("timeoutSeconds");
  return { changes: diffs.length > 0, replaces, diffs };
}

// ---------------------------------------------------------------------------------------------------------------
// Applying a change set
// ---------------------------------------------------------------------------------------------------------------

interface Failed {
  name: string;
  reason?: string;
}

interface ApplyOutcome {
  outs: ServiceEnvVariablesOutputs;
  failure?: OperationError;
}

function reasonOf(entry: unknown): string | undefined {
  if (typeof entry === "string") return entry;
  if (entry && typeof entry === "object") {
    for (const k of ["error", "message", "reason"]) {
      const v = (entry as Record<string, unknown>)[k];
      if (typeof v === "string") return v;
    }
  }
  return undefined;
}

/** What the service holds of the managed names, as far as we know: what state records. */
interface Held {
  entries: Entries;
  /** The platform's `updatedAt` after our own write, per name. */
  versions: Record<string, string>;
  /** Parameter path or secret ARN of each FC-managed secret. */
  references: Record<string, string>;
  /** FC-managed secrets written by someone else since our write. */
  outOfBand: Set<string>;
  lastRunId?: string;
}

/** The outputs that record `held`, in the shape of `shape` (its groups, its timeout): for apply and read alike. */
function outputsOf(
  serviceId: string,
  held: Held,
  shape: ServiceEnvVariablesInputs,
): ServiceEnvVariablesOutputs {
  const outs: ServiceEnvVariablesOutputs = { serviceId, ...groupsOf(held.entries, shape) };
  if (shape.timeoutSeconds !== undefined) outs.timeoutSeconds = shape.timeoutSeconds;
  const keep = (record: Record<string, string>, rule: (e: Entry) => boolean) =>
    Object.fromEntries(
      Object.entries(record).filter(([name]) => {
        const e = held.entries.get(name);
        return e !== undefined && rule(e);
      }),
    );
  const versions = keep(held.versions, () => true);
  const references = keep(held.references, (e) => isSecretGroup(e.group));
  if (Object.keys(references).length > 0) outs.references = references;
  if (Object.keys(versions).length > 0) outs.versions = versions;
  if (held.outOfBand.size > 0) outs.changedOutOfBand = [...held.outOfBand].sort();
  if (held.lastRunId) outs.lastRunId = held.lastRunId;
  return outs;
}

/** How one write went: what was stored, what the run failed or did not finish, and why polling stopped. */
interface WriteResult {
  stored: Array<[string, Entry, string | undefined]>;
  failed: Failed[];
  unfinished: string[];
  runId?: string;
  pollError?: string;
}

/**
 * Step 1 and 2: one POST with the names to write; plain values are stored at once, FC-managed secrets by a run
 * that is polled until it finishes or `timeoutS` runs out. A stored secret comes with its reference.
 */
async function write(
  client: FlightcontrolClient,
  serviceId: string,
  writes: Array<[string, Entry]>,
  timeoutS: number,
  secrets: string[],
): Promise<WriteResult> {
  const result: WriteResult = { stored: [], failed: [], unfinished: [] };
  if (writes.length === 0) return result;
  const body: EnvVariablesBody = {};
  for (const [name, e] of writes)
    ((body as Record<string, Record<string, unknown>>)[e.group] ??= {})[name] = e.value;
  const deadline = Date.now() + timeoutS * 1000;
  const res = await client.saveEnvVariables(serviceId, body, secrets);
  const asyncWrites = writes.filter(([, e]) => isSecretGroup(e.group));
  for (const [name, e] of writes) if (!isSecretGroup(e.group)) result.stored.push([name, e, undefined]);
  if (res.status === "completed") {
    for (const [name, e] of asyncWrites) result.stored.push([name, e, undefined]);
    return result;
  }
  result.runId = res.runId;
  let status: RunStatus | undefined;
  try {
    ({ last: status } = await pollUntil({
      deadline,
      poll: () => client.runStatus(serviceId, res.runId),
      done: (s) => s.isFinished,
    }));
  } catch (e) {
    // The run goes on without us; what it stored is unknown, so it is not recorded as stored.
    result.pollError = redact(e instanceof Error ? e.message : String(e), secrets);
  }
  for (const [name, e] of asyncWrites) {
    const storedRef = status?.storedEnvVariables?.[name];
    if (storedRef !== undefined) {
      const ref = Object.values(storedRef ?? {}).find((v) => typeof v === "string");
      result.stored.push([name, e, ref]);
    } else if (status && name in (status.failedEnvVariables ?? {})) {
      result.failed.push({ name, reason: reasonOf(status.failedEnvVariables[name]) });
    } else if (status?.isFinished) {
      // A run that reports itself finished without naming a variable has not stored it.
      result.failed.push({ name, reason: "not reported by the finished run" });
    } else {
      result.unfinished.push(name);
    }
  }
  return result;
}

/**
 * Step 3 and 4: one read-back for the versions of what was just written and as the guard of the deletes, then one
 * DELETE per removed name that is still ours (not gone, not written since by someone else). Updates `held`;
 * returns the names that could not be deleted.
 */
async function readBackAndRemove(
  client: FlightcontrolClient,
  serviceId: string,
  held: Held,
  written: string[],
  removals: string[],
  secrets: string[],
): Promise<Failed[]> {
  const deleteFailures: Failed[] = [];
  if (written.length === 0 && removals.length === 0) return deleteFailures;
  let remote: Record<string, RemoteVariable> | undefined;
  try {
    remote = await client.listEnvVariables(serviceId);
  } catch (e) {
    if (written.length === 0) throw e;
    // The writes stand; only their versions stay unknown (refresh then cannot see a change out of band).
  }
  for (const name of written) {
    const r = remote?.[name];
    if (r?.updatedAt) held.versions[name] = r.updatedAt;
    else delete held.versions[name];
    if (r?.reference) held.references[name] = r.reference;
  }
  for (const name of removals) {
    if (!remote) {
      deleteFailures.push({
        name,
        reason: "the service's variables could not be read to check who wrote it last",
      });
      continue;
    }
    const r = remote[name];
    const mine = held.versions[name];
    // Gone already, or written since by someone else: not ours to delete any more.
    const ours = r !== undefined && (mine === undefined || r.updatedAt === undefined || r.updatedAt === mine);
    if (ours) {
      try {
        await client.deleteEnvVariable(serviceId, name);
      } catch (e) {
        deleteFailures.push({ name, reason: redact(e instanceof Error ? e.message : String(e), secrets) });
        continue;
      }
    }
    held.entries.delete(name);
    delete held.versions[name];
    delete held.references[name];
    held.outOfBand.delete(name);
  }
  return deleteFailures;
}

/** Step 5: the error for what was not stored or not deleted, or undefined when everything was. */
function failureOf(
  serviceId: string,
  w: WriteResult,
  deleteFailures: Failed[],
  timeoutS: number,
  secrets: string[],
): OperationError | undefined {
  if (w.failed.length === 0 && w.unfinished.length === 0 && deleteFailures.length === 0 && !w.pollError) {
    return undefined;
  }
  const parts: string[] = [];
  const fmt = (f: Failed) => (f.reason ? `${f.name} (${redact(f.reason, secrets)})` : f.name);
  if (w.failed.length > 0) parts.push(`failed to store: ${w.failed.map(fmt).join(", ")}`);
  if (w.unfinished.length > 0) {
    parts.push(
      w.pollError
        ? `unknown after the status check failed (${w.pollError}): ${w.unfinished.join(", ")}`
        : `not stored within ${timeoutS} s: ${w.unfinished.join(", ")} (raise timeoutSeconds to wait longer; the platform may still complete them, and the next up writes them again)`,
    );
  }
  if (deleteFailures.length > 0) parts.push(`not deleted: ${deleteFailures.map(fmt).join(", ")}`);
  return new OperationError("flightcontrol", `service ${serviceId}: ${parts.join("; ")}`, {
    service: serviceId,
    run: w.runId,
  });
}

/**
 * Writes `next` over `prior` on the service: one POST with the names that changed (plus those changed out of
 * band), polling of the FC-managed secrets' run, one read-back for the versions and the delete guard, then one
 * DELETE per removed name. Returns the state that reflects exactly what the platform now holds, and an error
 * when something was not stored or not deleted.
 */
async function apply(
  client: FlightcontrolClient,
  serviceId: string,
  prior: ServiceEnvVariablesOutputs | undefined,
  next: ServiceEnvVariablesInputs,
): Promise<ApplyOutcome> {
  const before = prior ? entriesOf(prior) : new Map<string, Entry>();
  const after = entriesOf(next);
  const force = new Set(prior?.changedOutOfBand ?? []);
  const writes = [...after].filter(([name, e]) => force.has(name) || !sameEntry(before.get(name), e));
  const removals = [...before.keys()].filter((name) => !after.has(name));
  const timeoutS = next.timeoutSeconds ?? DEFAULT_TIMEOUT_S;
  const secrets = secretValuesOf([...after.values(), ...before.values()]);

  const w = await write(client, serviceId, writes, timeoutS, secrets);
  const held: Held = {
    entries: new Map(before),
    versions: { ...(prior?.versions ?? {}) },
    references: { ...(prior?.references ?? {}) },
    outOfBand: new Set([...force].filter((n) => after.has(n))),
    lastRunId: w.runId ?? prior?.lastRunId,
  };
  for (const [name, e, ref] of w.stored) {
    held.entries.set(name, e);
    held.outOfBand.delete(name);
    if (ref) held.references[name] = ref;
    else if (!isSecretGroup(e.group)) delete held.references[name];
  }
  const written = w.stored.map(([name]) => name);
  const deleteFailures = await readBackAndRemove(client, serviceId, held, written, removals, secrets);
  return {
    outs: outputsOf(serviceId, held, next),
    failure: failureOf(serviceId, w, deleteFailures, timeoutS, secrets),
  };
}

/** The shape Pulumi reports as "created (or updated) but failed to initialise": the state keeps `properties`. */
function partial(failure: OperationError, id: string, outs: ServiceEnvVariablesOutputs): Error {
  return Object.assign(failure, {
    id,
    properties: outs as unknown as Record<string, unknown>,
    reasons: [failure.message],
  });
}

// ---------------------------------------------------------------------------------------------------------------
// read
// ---------------------------------------------------------------------------------------------------------------

function inputsOf(outs: ServiceEnvVariablesOutputs): ServiceEnvVariablesInputs {
  const out: ServiceEnvVariablesInputs = { serviceId: outs.serviceId };
  for (const g of FC_GROUPS)
    if (outs[g] !== undefined) (out as unknown as Record<string, unknown>)[g] = outs[g];
  if (outs.timeoutSeconds !== undefined) out.timeoutSeconds = outs.timeoutSeconds;
  return out;
}

/**
 * Every variable of a service, for a lookup (`ServiceEnvVariables.get`, whose id is the service id): values of
 * plain text and reference groups, and for FC-managed secrets only their reference, never a value.
 */
function everyVariable(
  serviceId: string,
  remote: Record<string, RemoteVariable>,
): ServiceEnvVariablesOutputs {
  const outs: ServiceEnvVariablesOutputs = { serviceId };
  const references: Record<string, string> = {};
  for (const [name, r] of Object.entries(remote).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (isSecretGroup(r.type)) {
      if (r.reference) references[name] = r.reference;
    } else if (r.value !== undefined) {
      ((outs as unknown as Record<string, Record<string, unknown>>)[r.type] ??= {})[name] = r.value;
    }
  }
  if (Object.keys(references).length > 0) outs.references = references;
  return outs;
}

async function read(ctx: ResourceContext, id: string, props: ServiceEnvVariablesOutputs) {
  const lookup = props.serviceId === undefined;
  // The service gone (404/410) means its variables are gone with it.
  const remote = await unlessGone(ctx.flightcontrol().listEnvVariables(lookup ? id : props.serviceId));
  if (!remote) return null;
  if (lookup) return { id, props: everyVariable(id, remote) };
  const held: Held = {
    entries: new Map(),
    versions: { ...(props.versions ?? {}) },
    references: { ...(props.references ?? {}) },
    outOfBand: new Set<string>(),
    lastRunId: props.lastRunId,
  };
  for (const [name, mine] of entriesOf(props)) {
    const r = remote[name];
    // Missing, or moved to another group out of band: not in state, so the next up writes it again. A value
    // found in another group is never copied into state (it may be a secret shown as plain text).
    if (!r || r.type !== mine.group) continue;
    if (isSecretGroup(mine.group)) {
      // The value cannot be read back: keep ours, and compare the platform's updatedAt with our write's.
      held.entries.set(name, mine);
      if (r.reference) held.references[name] = r.reference;
      if (held.versions[name] === undefined && r.updatedAt) held.versions[name] = r.updatedAt;
      else if (r.updatedAt !== undefined && r.updatedAt !== held.versions[name]) held.outOfBand.add(name);
      if ((props.changedOutOfBand ?? []).includes(name)) held.outOfBand.add(name);
    } else {
      held.entries.set(name, {
        group: mine.group,
        value: (r.value ?? mine.value) as string | ServiceReference,
      });
    }
  }
  const outs = outputsOf(props.serviceId, held, props);
  return { id, props: outs, inputs: inputsOf(outs) };
}

// ---------------------------------------------------------------------------------------------------------------
// The definition
// ---------------------------------------------------------------------------------------------------------------

export const serviceEnvVariables: ResourceDefinition<ServiceEnvVariablesInputs, ServiceEnvVariablesOutputs> =
  {
    type: "ServiceEnvVariables",
    platform: "flightcontrol",
    check,
    diff,

    async create(ctx, inputs) {
      const id = resourceId(inputs.serviceId, entriesOf(inputs).keys());
      const { outs, failure } = await apply(ctx.flightcontrol(), inputs.serviceId, undefined, inputs);
      if (failure) throw partial(failure, id, outs);
      return { id, outs };
    },

    read,

    async update(ctx, id, olds, news) {
      const { outs, failure } = await apply(ctx.flightcontrol(), olds.serviceId, olds, news);
      if (failure) throw partial(failure, id, outs);
      return outs;
    },

    async delete(ctx, id, props) {
      // The service itself gone (404/410): its variables went with it.
      const done = await unlessGone(
        apply(ctx.flightcontrol(), props.serviceId, props, { serviceId: props.serviceId }),
      );
      // The resource stays in state: what could not be deleted is still on the service.
      if (done?.failure) throw done.failure;
    },
  };

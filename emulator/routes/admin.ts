import { randomUUID } from "node:crypto";

import { emptyCounters, type EmulatorContext } from "../context";
import { HttpError, validationError, type RequestContext, type Route } from "../http";
import {
  isoTime,
  type AccessKeyRecord,
  type ConnectionRecord,
  type PatRecord,
  type DeploymentRecord,
  type ServiceRecord,
  type Store,
} from "../store";
import { completeOAuth } from "./dynamiq-connections";
import { mintPat } from "./dynamiq-credentials";
import {
  parseRfc3339,
  presentAccessKey,
  presentConnection,
  presentDeployment,
  presentPat,
  presentService,
  redactConfig,
} from "./dynamiq-common";
import { finishDeployment, serviceRuntime } from "./dynamiq-services";
import { DYPAI_PREFIX } from "./dypai";
import { FLIGHTCONTROL_PREFIX } from "./flightcontrol";

/** Record kinds the admin surface can reach. */
export const RECORD_KINDS = [
  "connection",
  "access_key",
  "personal_access_token",
  "deployment",
  "service",
  "user",
  "org",
  "project",
] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

const DAY_MS = 24 * 60 * 60 * 1000;

function bad(field: string, message: string): HttpError {
  return validationError([{ field, message }]);
}

function kindOf(value: unknown, allowed: readonly string[]): string {
  if (typeof value !== "string" || !allowed.includes(value)) {
    throw bad("kind", `kind must be one of: ${allowed.join(", ")}`);
  }
  return value;
}

function idOf(body: Record<string, unknown>): string {
  if (typeof body.id !== "string" || body.id === "") throw bad("id", "id is required and must be a string");
  return body.id;
}

function timestamp(value: unknown, field: string): string | null {
  if (value === null) return null;
  if (typeof value !== "string" || parseRfc3339(value) === undefined) {
    throw bad(field, `${field} must be an RFC 3339 date-time or null`);
  }
  return isoTime(parseRfc3339(value) as number);
}

/** Raw record views for `/_admin/records`: internal fields included, secrets and fingerprints left out. */
function rawRecords(store: Store, kind: RecordKind): unknown[] {
  switch (kind) {
    case "connection":
      return store.connections.map((c) => ({
        ...presentConnection(c),
        config: redactConfig(c.config),
        in_use: c.in_use,
        oauth_authorized: c.oauth_access_token !== null,
        oauth_pending: c.oauth_state !== null,
      }));
    case "access_key":
      return store.accessKeys.map(presentAccessKey);
    case "personal_access_token":
      return store.pats.map((t) => ({ ...presentPat(t), legacy: t.legacy }));
    case "deployment":
      return store.deployments.map((d) => ({ ...presentDeployment(d), planned_failure: d.planned_failure }));
    case "service":
      return store.services.map((s) => ({
        ...presentService(store, s),
        deploy_delay_ms: s.deploy_delay_ms,
        fail_next_deploy: s.fail_next_deploy,
      }));
    case "user":
      return store.users;
    case "org":
      return store.orgs;
    case "project":
      return store.projects;
  }
}

type Patcher = (record: never, key: string, value: unknown) => void;

function patchConnection(c: ConnectionRecord, key: string, value: unknown): void {
  switch (key) {
    case "name":
    case "type":
      if (typeof value !== "string") throw bad(`patch.${key}`, `patch.${key} must be a string`);
      c[key] = value;
      return;
    case "config":
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw bad("patch.config", "patch.config must be a JSON object (it replaces the whole config)");
      }
      c.config = value as Record<string, unknown>;
      return;
    case "status":
      if (value !== "active" && value !== "incomplete" && value !== "expired") {
        throw bad("patch.status", "patch.status must be active, incomplete or expired");
      }
      c.status = value;
      return;
    case "is_system":
    case "in_use":
      if (typeof value !== "boolean") throw bad(`patch.${key}`, `patch.${key} must be a boolean`);
      c[key] = value;
      return;
    case "updated_at":
      c.updated_at = timestamp(value, "patch.updated_at") ?? c.updated_at;
      return;
  }
  throw bad(`patch.${key}`, `patch.${key} cannot be changed on a connection`);
}

function patchCredential(
  r: { name: string; expires_at: string | null; created_at: string },
  key: string,
  value: unknown,
): void {
  switch (key) {
    case "name":
      if (typeof value !== "string") throw bad("patch.name", "patch.name must be a string");
      r.name = value;
      return;
    case "expires_at":
      r.expires_at = timestamp(value, "patch.expires_at");
      return;
    case "created_at":
      r.created_at = timestamp(value, "patch.created_at") ?? r.created_at;
      return;
  }
  throw bad(`patch.${key}`, `patch.${key} cannot be changed on this kind`);
}

function patchDeployment(d: DeploymentRecord, key: string, value: unknown): void {
  switch (key) {
    case "status":
      if (value !== "in_progress" && value !== "succeeded" && value !== "failed") {
        throw bad("patch.status", "patch.status must be in_progress, succeeded or failed");
      }
      d.status = value;
      d.finished_at = value === "in_progress" ? null : (d.finished_at ?? isoTime());
      return;
    case "message":
      if (value !== null && typeof value !== "string")
        throw bad("patch.message", "patch.message must be a string");
      d.message = value;
      return;
    case "image":
      if (typeof value !== "string") throw bad("patch.image", "patch.image must be a string");
      d.image = value;
      return;
  }
  throw bad(`patch.${key}`, `patch.${key} cannot be changed on a deployment`);
}

function patchService(s: ServiceRecord, key: string, value: unknown): void {
  if (key === "name" && typeof value === "string") {
    s.name = value;
    return;
  }
  throw bad(`patch.${key}`, `patch.${key} cannot be changed on a service (only name, as a string)`);
}

/**
 * The admin surface under `/_admin/` (tests and demo only; loopback only; no auth; not counted).
 * Admin responses are bare JSON objects, not `{"data": ...}` envelopes; errors use the normal error envelope.
 */
export function adminRoutes(emu: EmulatorContext): Route[] {
  const { store } = emu;

  function connectionById(id: string): ConnectionRecord {
    const c = store.connection(id);
    if (!c) throw new HttpError(404, "not_found", "connection not found");
    return c;
  }

  function serviceById(id: string): ServiceRecord {
    const s = store.service(id);
    if (!s) throw new HttpError(404, "not_found", "service not found");
    return s;
  }

  function credentialRecord(kind: string, id: string): AccessKeyRecord | PatRecord {
    const r = kind === "access_key" ? store.accessKey(id) : store.pat(id);
    if (!r) throw new HttpError(404, "not_found", `${kind} not found`);
    return r;
  }

  function presentCredential(r: AccessKeyRecord | PatRecord): Record<string, unknown> {
    return "org_id" in r ? presentAccessKey(r) : presentPat(r);
  }

  function seedView() {
    return {
      ...dynamiqSeed(emu.baseUrl, store),
      userId: store.seed.userId,
      otherUserId: store.seed.otherUserId,
      systemConnectionId: store.seed.systemConnectionId,
      bootstrapPatId: store.seed.bootstrapPatId,
      ...companionSeeds(emu.baseUrl, store),
    };
  }

  const route = (method: string, path: string, handler: (ctx: RequestContext) => unknown): Route => ({
    method,
    path,
    admin: true,
    handler: (ctx) => ({ status: 200, body: handler(ctx) }),
  });

  return [
    route("GET", "/_admin/seed", () => seedView()),
    route("POST", "/_admin/reset", () => {
      emu.clearTimers();
      store.reset();
      Object.assign(emu.counters, emptyCounters());
      emu.faults.clear();
      return { ok: true, seed: seedView() };
    }),
    route("POST", "/_admin/tamper", (ctx) => {
      const body = ctx.json();
      const kind = kindOf(body.kind, [
        "connection",
        "access_key",
        "personal_access_token",
        "deployment",
        "service",
      ]);
      const id = idOf(body);
      const patch = body.patch;
      if (patch === null || typeof patch !== "object" || Array.isArray(patch)) {
        throw bad("patch", "patch is required and must be a JSON object");
      }
      const entries = Object.entries(patch as Record<string, unknown>);
      let target: unknown;
      let patcher: Patcher;
      let present: () => unknown;
      switch (kind) {
        case "connection": {
          const c = connectionById(id);
          target = c;
          patcher = patchConnection as Patcher;
          present = () => presentConnection(c);
          break;
        }
        case "access_key":
        case "personal_access_token": {
          const r = credentialRecord(kind, id);
          target = r;
          patcher = patchCredential as Patcher;
          present = () => presentCredential(r);
          break;
        }
        case "deployment": {
          const d = store.deployment(id);
          if (!d) throw new HttpError(404, "not_found", "deployment not found");
          target = d;
          patcher = patchDeployment as Patcher;
          present = () => presentDeployment(d);
          break;
        }
        default: {
          const s = serviceById(id);
          target = s;
          patcher = patchService as Patcher;
          present = () => presentService(store, s);
        }
      }
      // Validate on a copy first so that a bad field leaves the record untouched.
      const copy = structuredClone(target);
      for (const [key, value] of entries) patcher(copy as never, key, value);
      for (const [key, value] of entries) patcher(target as never, key, value);
      if (kind === "connection" && !("updated_at" in (patch as object))) {
        (target as ConnectionRecord).updated_at = isoTime();
      }
      store.commit();
      return present();
    }),
    route("POST", "/_admin/delete", (ctx) => {
      const body = ctx.json();
      const kind = kindOf(body.kind, ["connection", "access_key", "personal_access_token", "deployment"]);
      const collection = (
        {
          connection: "connections",
          access_key: "access_keys",
          personal_access_token: "personal_access_tokens",
          deployment: "deployments",
        } as const
      )[kind as "connection"];
      const id = idOf(body);
      if (!store.remove(collection, id)) throw new HttpError(404, "not_found", `${kind} not found`);
      return { deleted: true, kind, id };
    }),
    route("POST", "/_admin/age", (ctx) => {
      const body = ctx.json();
      const kind = kindOf(body.kind, ["access_key", "personal_access_token", "deployment"]);
      if (typeof body.days !== "number" || !Number.isFinite(body.days)) {
        throw bad("days", "days is required and must be a number");
      }
      const shift = body.days * DAY_MS;
      const back = (t: string) => isoTime(Date.parse(t) - shift);
      if (kind === "deployment") {
        const d = store.deployment(idOf(body));
        if (!d) throw new HttpError(404, "not_found", "deployment not found");
        d.created_at = back(d.created_at);
        if (d.finished_at !== null) d.finished_at = back(d.finished_at);
        store.commit();
        return presentDeployment(d);
      }
      const r = credentialRecord(kind, idOf(body));
      r.created_at = back(r.created_at);
      if (body.shiftExpiry === true && r.expires_at !== null) r.expires_at = back(r.expires_at);
      store.commit();
      return presentCredential(r);
    }),
    route("POST", "/_admin/expire", (ctx) => {
      const body = ctx.json();
      const kind = kindOf(body.kind, ["access_key", "personal_access_token"]);
      const r = credentialRecord(kind, idOf(body));
      r.expires_at = isoTime(Date.now() - 1000);
      store.commit();
      return presentCredential(r);
    }),
    route("POST", "/_admin/connections/:id/authorize", (ctx) => {
      const c = connectionById(ctx.params.id);
      completeOAuth(emu, c);
      return presentConnection(c);
    }),
    route("GET", "/_admin/oauth2/consent", (ctx) => {
      const state = ctx.query.get("state");
      const c = state ? store.connections.find((x) => x.oauth_state === state) : undefined;
      if (!c) throw new HttpError(400, "bad_request", "unknown or already used OAuth state");
      completeOAuth(emu, c);
      return { authorized: true, connection_id: c.id, status: c.status };
    }),
    route("POST", "/_admin/connections/:id/in-use", (ctx) => {
      const c = connectionById(ctx.params.id);
      const body = ctx.json();
      if (typeof body.inUse !== "boolean") throw bad("inUse", "inUse is required and must be a boolean");
      c.in_use = body.inUse;
      store.commit();
      return { id: c.id, in_use: c.in_use };
    }),
    route("POST", "/_admin/services", (ctx) => {
      const body = ctx.jsonOrEmpty();
      const projectId = body.project_id ?? store.seed.projectId;
      if (typeof projectId !== "string" || !store.project(projectId)) {
        throw bad("project_id", "project_id must name an existing project");
      }
      if (body.name !== undefined && typeof body.name !== "string")
        throw bad("name", "name must be a string");
      const id = randomUUID();
      const service: ServiceRecord = {
        id,
        name: (body.name as string | undefined) ?? `service-${id.slice(0, 8)}`,
        project_id: projectId,
        created_at: isoTime(),
        deploy_delay_ms: store.service(store.seed.serviceId)?.deploy_delay_ms ?? 50,
        fail_next_deploy: null,
        seq: store.nextSeq(),
      };
      store.services.push(service);
      store.commit();
      return presentService(store, service);
    }),
    route("POST", "/_admin/services/:id/fail-next-deploy", (ctx) => {
      const s = serviceById(ctx.params.id);
      const body = ctx.jsonOrEmpty();
      if (body.message !== undefined && typeof body.message !== "string") {
        throw bad("message", "message must be a string");
      }
      s.fail_next_deploy =
        (body.message as string | undefined) ?? "deployment failed (armed by the emulator)";
      store.commit();
      return { id: s.id, fail_next_deploy: s.fail_next_deploy };
    }),
    route("POST", "/_admin/services/:id/deploy-delay", (ctx) => {
      const s = serviceById(ctx.params.id);
      const body = ctx.json();
      if (typeof body.ms !== "number" || !Number.isInteger(body.ms) || body.ms < 0 || body.ms > 600_000) {
        throw bad("ms", "ms must be an integer between 0 and 600000");
      }
      s.deploy_delay_ms = body.ms;
      store.commit();
      return { id: s.id, deploy_delay_ms: s.deploy_delay_ms };
    }),
    route("POST", "/_admin/services/:id/finish-deploys", (ctx) => {
      const s = serviceById(ctx.params.id);
      const pending = store.deploymentsOf(s.id).filter((d) => d.status === "in_progress");
      for (const d of pending) finishDeployment(emu, d.id);
      return { id: s.id, finished: pending.map((d) => d.id) };
    }),
    route("GET", "/_admin/services/:id/runtime", (ctx) => serviceRuntime(emu, serviceById(ctx.params.id))),
    route("POST", "/_admin/mint", (ctx) => {
      const body = ctx.json();
      kindOf(body.kind, ["pat"]);
      if (body.user !== undefined && body.user !== "seed" && body.user !== "other") {
        throw bad("user", 'user must be "seed" or "other"');
      }
      if (body.legacy !== undefined && typeof body.legacy !== "boolean")
        throw bad("legacy", "legacy must be a boolean");
      if (body.name !== undefined && typeof body.name !== "string")
        throw bad("name", "name must be a string");
      const expiresAt = body.expires_at === undefined ? null : timestamp(body.expires_at, "expires_at");
      const userId = body.user === "other" ? store.seed.otherUserId : store.seed.userId;
      const { record, key } = mintPat(
        store,
        userId,
        (body.name as string | undefined) ?? "minted",
        expiresAt,
        body.legacy === true,
      );
      return { ...presentPat(record), legacy: record.legacy, key };
    }),
    route("GET", "/_admin/requests", () => ({
      total: emu.counters.total,
      routes: { ...emu.counters.routes },
      connections: emu.counters.connections,
      callers: { ...emu.counters.callers },
    })),
    route("DELETE", "/_admin/requests", () => {
      Object.assign(emu.counters, emptyCounters());
      return { ok: true };
    }),
    route("GET", "/_admin/records", (ctx) => {
      const kind = kindOf(ctx.query.get("kind") ?? undefined, RECORD_KINDS) as RecordKind;
      return { kind, records: rawRecords(store, kind) };
    }),
  ];
}

/** The seeded Dynamiq organisation, project, user PAT and service, as startEmulator() and /_admin/seed give them. */
export function dynamiqSeed(baseUrl: string, store: EmulatorContext["store"]) {
  return {
    baseUrl,
    orgId: store.seed.orgId,
    projectId: store.seed.projectId,
    userPat: store.bootstrapPat,
    serviceId: store.seed.serviceId,
    otherOrgId: store.seed.otherOrgId,
    otherProjectId: store.seed.otherProjectId,
  };
}

/** The seeded Flightcontrol and DYPAI accounts, as the first stdout line, startEmulator() and /_admin/seed give them. */
export function companionSeeds(baseUrl: string, store: EmulatorContext["store"]) {
  return {
    flightcontrol: {
      baseUrl: baseUrl + FLIGHTCONTROL_PREFIX,
      apiKey: store.companions.flightcontrol_api_key_emulator_fixture,
      serviceId: store.companions.flightcontrolServiceId,
    },
    dypai: {
      baseUrl: baseUrl + DYPAI_PREFIX,
      token: store.companions.dypai_token_emulator_fixture,
      engineId: store.companions.dypaiEngineId,
    },
  };
}

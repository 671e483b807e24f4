import type { EmulatorContext } from "../context";
import { HttpError, validationError, type FieldError, type RequestContext } from "../http";
import { ACCESS_KEY_PREFIX, LEGACY_PAT_PREFIX, PAT_PREFIX, fingerprint } from "../secrets";
import {
  isoTime,
  type AccessKeyRecord,
  type ConnectionRecord,
  type DeploymentRecord,
  type PatRecord,
  type ProjectRecord,
  type ServiceRecord,
  type Store,
  type UserRecord,
} from "../store";

// ---------------------------------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------------------------------

function unauthorized(message: string): HttpError {
  return new HttpError(401, "unauthorized", message, {}, { "www-authenticate": "Bearer" });
}

/** The credential of `Authorization: Bearer <credential>`; 401 when missing or malformed. */
export function bearer(ctx: RequestContext): string {
  const header = ctx.headers.authorization;
  if (header === undefined || header.trim() === "") throw unauthorized("missing Authorization header");
  const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
  if (!m) throw unauthorized("malformed Authorization header: expected 'Bearer <credential>'");
  return m[1];
}

export function isExpired(expiresAt: string | null, now = Date.now()): boolean {
  return expiresAt !== null && Date.parse(expiresAt) <= now;
}

/** Finds a live (known, not expired) access key by its secret. */
function liveAccessKey(store: Store, secret: string): AccessKeyRecord | undefined {
  const key = store.accessKeyByFingerprint(fingerprint(secret));
  return key && !isExpired(key.expires_at) ? key : undefined;
}

/** Authenticates a management call: a PAT (`dyn_pat_` or legacy `uak_`) of a known user. */
export function requireUser(ctx: RequestContext, emu: EmulatorContext): { user: UserRecord; pat: PatRecord } {
  const credential = bearer(ctx);
  const { store } = emu;
  if (credential.startsWith(ACCESS_KEY_PREFIX)) {
    if (!liveAccessKey(store, credential)) throw unauthorized("invalid, expired or revoked credential");
    throw new HttpError(
      403,
      "forbidden",
      "Access Keys cannot call the management API: authenticate with a Personal Access Token (dyn_pat_...)",
    );
  }
  if (!credential.startsWith(PAT_PREFIX) && !credential.startsWith(LEGACY_PAT_PREFIX)) {
    throw unauthorized("unrecognised credential: expected a Personal Access Token (dyn_pat_...)");
  }
  const pat = store.patByFingerprint(fingerprint(credential));
  if (!pat) throw unauthorized("invalid or revoked Personal Access Token");
  if (isExpired(pat.expires_at)) throw unauthorized("Personal Access Token has expired");
  const user = store.user(pat.user_id);
  if (!user) throw unauthorized("invalid or revoked Personal Access Token");
  emu.counters.callers[user.id] = (emu.counters.callers[user.id] ?? 0) + 1;
  return { user, pat };
}

/** Authenticates a call to a deployed resource: a live Access Key. A PAT is not accepted (assumed). */
export function requireAccessKey(ctx: RequestContext, emu: EmulatorContext): AccessKeyRecord {
  const credential = bearer(ctx);
  if (!credential.startsWith(ACCESS_KEY_PREFIX)) {
    throw unauthorized("deployed resources take an Access Key (dynamiq_acc_...)");
  }
  const key = emu.store.accessKeyByFingerprint(fingerprint(credential));
  if (!key) throw unauthorized("invalid or revoked Access Key");
  if (isExpired(key.expires_at)) throw unauthorized("Access Key has expired");
  return key;
}

// ---------------------------------------------------------------------------------------------------------------
// Authorisation
// ---------------------------------------------------------------------------------------------------------------

export function forbiddenOrg(): HttpError {
  return new HttpError(403, "forbidden", "you are not a member of this organization");
}

/** 403 unless the user is a member of the org (unknown orgs also give 403). */
export function requireOrgMember(store: Store, user: UserRecord, orgId: string): void {
  if (!store.isMember(user.id, orgId)) throw forbiddenOrg();
}

/**
 * The project, when the user may use it: 400 `project_not_found` if unknown (same code and status as the
 * documented access-key case), 403 if it belongs to an org the user is not a member of.
 */
export function requireProject(store: Store, user: UserRecord, projectId: string): ProjectRecord {
  const project = store.project(projectId);
  if (!project) {
    throw new HttpError(400, "project_not_found", "project not found", {
      field: "project_id",
      project_id: projectId,
    });
  }
  requireOrgMember(store, user, project.org_id);
  return project;
}

export function notFound(what: string): HttpError {
  return new HttpError(404, "not_found", `${what} not found`);
}

// ---------------------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------------------

/** Documented name rule of keys and tokens: 1..128 chars, letter/digit at both ends, `space . / _ ' -` inside. */
export const NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9 ./_'-]{0,126}[A-Za-z0-9])?$/;

export function checkName(value: unknown, field = "name"): FieldError | undefined {
  if (typeof value !== "string" || value.length === 0) {
    return { field, message: `${field} is required and must be a non-empty string` };
  }
  if (value.length > 128) return { field, message: `${field} must be at most 128 characters` };
  if (!NAME_PATTERN.test(value)) {
    return {
      field,
      message: `${field} must start and end with a letter or digit and may contain only letters, digits, spaces and . / _ ' - in between`,
    };
  }
  return undefined;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** Epoch ms of a strict RFC 3339 date-time (calendar-checked), or undefined. */
export function parseRfc3339(value: string): number | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 60) return undefined;
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d < 1 || d > daysInMonth) return undefined;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  const ms = Date.parse(value.replace(/[Tt]/, "T").replace(/z$/, "Z"));
  return Number.isNaN(ms) ? undefined : ms;
}

/** Optional `expires_at`: RFC 3339 and strictly in the future. Returns the normalised ISO string or null. */
export function checkExpiresAt(
  value: unknown,
  errors: FieldError[],
  field = "expires_at",
  requireFuture = true,
): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") {
    errors.push({ field, message: `${field} must be an RFC 3339 date-time string` });
    return null;
  }
  const ms = parseRfc3339(value);
  if (ms === undefined) {
    errors.push({ field, message: `${field} must be an RFC 3339 date-time, e.g. 2026-12-31T00:00:00Z` });
    return null;
  }
  if (requireFuture && ms <= Date.now()) {
    errors.push({ field, message: `${field} must be in the future` });
    return null;
  }
  return isoTime(ms);
}

export function optionalString(
  body: Record<string, unknown>,
  field: string,
  errors: FieldError[],
): string | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value === "") {
    errors.push({ field, message: `${field} must be a non-empty string` });
    return null;
  }
  return value;
}

export function requiredString(body: Record<string, unknown>, field: string, errors: FieldError[]): string {
  const value = body[field];
  if (typeof value !== "string" || value.trim() === "") {
    errors.push({ field, message: `${field} is required and must be a non-empty string` });
    return "";
  }
  return value;
}

export function throwIfErrors(errors: FieldError[]): void {
  if (errors.length > 0) throw validationError(errors);
}

/** A boolean query flag: true/1 or false/0/empty; 400 otherwise. */
export function queryFlag(query: URLSearchParams, name: string): boolean {
  const raw = query.get(name);
  if (raw === null || raw === "" || raw === "false" || raw === "0") return false;
  if (raw === "true" || raw === "1") return true;
  throw validationError([{ field: name, message: `${name} must be true or false` }]);
}

// ---------------------------------------------------------------------------------------------------------------
// Pagination (documented: page, page_size default 25 max 500)
// ---------------------------------------------------------------------------------------------------------------

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 500;

export interface Page<T> {
  data: T[];
  pagination: { page: number; page_size: number; page_count: number; total_count: number };
}

function positiveInt(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null || raw === "") return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
    throw validationError([{ field: name, message: `${name} must be a positive integer` }]);
  }
  return Number(raw);
}

/** Pages `items` (already ordered) by the request's `page`/`page_size`. */
export function paginate<T>(items: T[], query: URLSearchParams): Page<T> {
  const page = positiveInt(query, "page", 1);
  const pageSize = positiveInt(query, "page_size", DEFAULT_PAGE_SIZE);
  if (pageSize > MAX_PAGE_SIZE) {
    throw validationError([{ field: "page_size", message: `page_size must be at most ${MAX_PAGE_SIZE}` }]);
  }
  const start = (page - 1) * pageSize;
  return {
    data: items.slice(start, start + pageSize),
    pagination: {
      page,
      page_size: pageSize,
      page_count: Math.ceil(items.length / pageSize),
      total_count: items.length,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Presenters: what the API returns. Secrets never leave through these.
// ---------------------------------------------------------------------------------------------------------------

export function presentAccessKey(k: AccessKeyRecord): Record<string, unknown> {
  return {
    id: k.id,
    name: k.name,
    org_id: k.org_id,
    project_id: k.project_id,
    preview: k.preview,
    expires_at: k.expires_at,
    created_at: k.created_at,
    created_by: k.created_by,
  };
}

export function presentPat(t: PatRecord): Record<string, unknown> {
  return {
    id: t.id,
    name: t.name,
    user_id: t.user_id,
    preview: t.preview,
    expires_at: t.expires_at,
    created_at: t.created_at,
  };
}

/** Config keys treated as secret on read (assumed rule). */
export const SECRET_KEY_PATTERN = /(api_key|apikey|password|secret|token|private_key|credentials)/i;
/** Maps whose values are dropped whole on read (they commonly carry Authorization headers or secrets). */
export const OPAQUE_MAPS = new Set(["headers", "env"]);

/** The config as GET shows it: secret-looking keys removed at any depth, `headers`/`env` dropped whole. */
export function redactConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (SECRET_KEY_PATTERN.test(key) || OPAQUE_MAPS.has(key)) continue;
    out[key] = redactValue(value);
  }
  return out;
}

function redactValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactValue);
  if (value !== null && typeof value === "object") return redactConfig(value as Record<string, unknown>);
  return value;
}

export function isOAuthType(type: string): boolean {
  return type.endsWith("OAuth2");
}

export function presentConnection(c: ConnectionRecord): Record<string, unknown> {
  return {
    id: c.id,
    name: c.name,
    project_id: c.project_id,
    type: c.type,
    status: c.status,
    config: c.is_system ? null : redactConfig(c.config),
    is_system: c.is_system,
    created_at: c.created_at,
    updated_at: c.updated_at,
  };
}

export function presentDeployment(d: DeploymentRecord): Record<string, unknown> {
  return {
    id: d.id,
    service_id: d.service_id,
    image: d.image,
    resources: d.resources,
    env: [
      ...d.plain_env.map((e) => ({ name: e.name, value: e.value })),
      ...d.secret_env_names.map((name) => ({ name, secret: true })),
    ],
    ignored_env: d.ignored_env_names,
    status: d.status,
    created_at: d.created_at,
    finished_at: d.finished_at,
    message: d.message,
  };
}

export function presentService(store: Store, s: ServiceRecord): Record<string, unknown> {
  const project = store.project(s.project_id);
  const deployments = store.deploymentsOf(s.id);
  return {
    id: s.id,
    name: s.name,
    project_id: s.project_id,
    org_id: project?.org_id ?? null,
    latest_deployment_id: deployments[0]?.id ?? null,
    active_deployment_id: deployments.find((d) => d.status === "succeeded")?.id ?? null,
    created_at: s.created_at,
  };
}

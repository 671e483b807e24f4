// One error hierarchy for every platform client. Every error has a stable `code`, and a `Symbol.for` brand so
// that checks hold across copies of this module (the provider runs from serialised code in Pulumi's host, which
// may load a different copy than the program did).

export type Platform = "dynamiq" | "flightcontrol" | "dypai";

export type ErrorCode =
  | "bad_request"
  | "validation"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "rate_limited"
  | "server_error"
  | "bad_response"
  | "timeout"
  | "network"
  | "configuration"
  | "invalid_input"
  | "operation_failed";

const BRAND = Symbol.for("pulumi-dynamiq.error");

/** Base class of every error this package throws. */
export class ProviderError extends Error {
  readonly code: ErrorCode;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProviderError";
    this.code = code;
  }

  static is(value: unknown): value is ProviderError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

export interface ApiErrorInit {
  platform: Platform;
  method: string;
  path: string;
  status: number;
  requestId?: string;
  /** The API's own error code, e.g. `project_not_found`. */
  apiCode?: string;
  /** The API's own message, already redacted. */
  apiMessage?: string;
  details?: unknown;
  retryAfterMs?: number;
}

/** The platform answered with an error status. */
export class ApiError extends ProviderError {
  readonly platform: Platform;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly requestId?: string;
  readonly apiCode?: string;
  readonly apiMessage?: string;
  readonly details?: unknown;
  readonly retryAfterMs?: number;

  constructor(code: ErrorCode, init: ApiErrorInit) {
    super(code, formatApiMessage(init));
    this.name = "ApiError";
    this.platform = init.platform;
    this.method = init.method;
    this.path = init.path;
    this.status = init.status;
    this.requestId = init.requestId;
    this.apiCode = init.apiCode;
    this.apiMessage = init.apiMessage;
    this.details = init.details;
    this.retryAfterMs = init.retryAfterMs;
  }

  /** True only when the platform confirmed the object does not exist (404 or 410). */
  get isGone(): boolean {
    return this.status === 404 || this.status === 410;
  }
}

export class NotFoundError extends ApiError {}
export class UnauthorizedError extends ApiError {}
export class ForbiddenError extends ApiError {}
export class ConflictError extends ApiError {}
export class RateLimitedError extends ApiError {}
export class ValidationError extends ApiError {}
export class ServerError extends ApiError {}

/** Builds the subclass that matches an HTTP status. */
export function apiErrorFor(init: ApiErrorInit): ApiError {
  const s = init.status;
  if (s === 404 || s === 410) return new NotFoundError("not_found", init);
  if (s === 401) return new UnauthorizedError("unauthorized", init);
  if (s === 403) return new ForbiddenError("forbidden", init);
  if (s === 409) return new ConflictError("conflict", init);
  if (s === 429) return new RateLimitedError("rate_limited", init);
  if (s === 400 || s === 422) return new ValidationError(s === 422 ? "validation" : "bad_request", init);
  if (s >= 500) return new ServerError("server_error", init);
  return new ApiError("bad_request", init);
}

/** No usable answer: connection refused or reset, timed out, or a body that is not what the API documents. */
export class TransportError extends ProviderError {
  readonly platform: Platform;
  readonly method: string;
  readonly path: string;
  readonly status?: number;
  readonly requestId?: string;

  constructor(
    code: "timeout" | "network" | "bad_response",
    init: {
      platform: Platform;
      method: string;
      path: string;
      status?: number;
      requestId?: string;
      reason: string;
    },
    options?: { cause?: unknown },
  ) {
    const where = `${init.platform}: ${init.method} ${init.path}`;
    const status = init.status !== undefined ? ` (status ${init.status})` : "";
    const rid = init.requestId ? ` [request id ${init.requestId}]` : "";
    super(code, `${where} failed${status}: ${init.reason}${rid}`, options);
    this.name = "TransportError";
    this.platform = init.platform;
    this.method = init.method;
    this.path = init.path;
    this.status = init.status;
    this.requestId = init.requestId;
  }
}

/** The provider is not configured well enough to make the call; raised before any request is sent. */
export class ConfigurationError extends ProviderError {
  constructor(message: string) {
    super("configuration", message);
    this.name = "ConfigurationError";
  }
}

/** One rejected input property, as Pulumi's check failures name them. */
export interface InputFailure {
  property: string;
  reason: string;
}

/** Inputs rejected before any API call. */
export class InputError extends ProviderError {
  readonly failures: InputFailure[];
  constructor(resource: string, failures: InputFailure[]) {
    super("invalid_input", `${resource}: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    this.name = "InputError";
    this.failures = failures;
  }
}

/** A platform operation ran but ended badly (a failed deployment, a failed async run). */
export class OperationError extends ProviderError {
  readonly platform: Platform;
  readonly context: Record<string, string | number | undefined>;
  constructor(platform: Platform, message: string, context: Record<string, string | number | undefined>) {
    const ctx = Object.entries(context)
      .filter(([, v]) => v !== undefined && v !== "")
      .map(([k, v]) => `${k}=${v}`)
      .join(", ");
    super("operation_failed", `${platform}: ${message}${ctx ? ` (${ctx})` : ""}`);
    this.name = "OperationError";
    this.platform = platform;
    this.context = context;
  }
}

function formatApiMessage(init: ApiErrorInit): string {
  const api = [init.apiCode, init.apiMessage].filter(Boolean).join(": ");
  const rid = init.requestId ? ` [request id ${init.requestId}]` : "";
  return `${init.platform}: ${init.method} ${init.path} returned ${init.status}${api ? ` ${api}` : ""}${rid}`;
}

// Credential shapes of the three platforms; anything that looks like one is masked wherever text leaves us.
const SECRET_PATTERNS = [
  /dynamiq_acc_[A-Za-z0-9_-]{8,}/g,
  /dyn_pat_[A-Za-z0-9_-]{8,}/g,
  /uak_[A-Za-z0-9_-]{8,}/g,
];

/**
 * Masks known secret values and anything shaped like a credential. Secrets shorter than 4 characters are not
 * masked by value (masking them would garble ordinary words); they are never put into messages to begin with.
 */
export function redact(text: string, secrets: Iterable<string | undefined> = []): string {
  let out = text;
  const values = [...secrets].filter((s): s is string => typeof s === "string" && s.length >= 4);
  values.sort((a, b) => b.length - a.length);
  for (const s of values) out = out.split(s).join("[redacted]");
  for (const re of SECRET_PATTERNS) out = out.replace(re, "[redacted]");
  return out;
}

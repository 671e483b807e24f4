// One error hierarchy for every platform client. Every error has a stable `code` (one row each in
// docs/errors.md) and `Symbol.for` brands, so that `instanceof` holds across copies of this module for every
// class: the provider runs from serialised code in Pulumi's host, which may load another copy than the
// program did.

export type Platform = "dynamiq" | "flightcontrol" | "dypai";

/** Every `code` an error of this package can carry; docs/errors.md has one row for each. */
export const ERROR_CODES = [
  "bad_request",
  "validation",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "rate_limited",
  "server_error",
  "bad_response",
  "timeout",
  "network",
  "configuration",
  "invalid_input",
  "operation_failed",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

// `true` on every error of every version of this package (ProviderError.is); kept as it was for older copies.
const BRAND = Symbol.for("pulumi-dynamiq.error");
// The names of an error's class and of its ancestors, for `instanceof` against another copy's class.
const CLASSES = Symbol.for("pulumi-dynamiq.error.classes");
const ordinaryHasInstance = Function.prototype[Symbol.hasInstance];

/** Base class of every error this package throws. */
export class ProviderError extends Error {
  /** The class name every copy of this module agrees on: the instance's `name` and its `instanceof` brand. */
  static readonly errorName: string = "ProviderError";

  readonly code: ErrorCode;
  readonly [BRAND] = true;
  readonly [CLASSES]: readonly string[];

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    const classes: string[] = [];
    for (let c: unknown = new.target; c && c !== Error; c = Object.getPrototypeOf(c)) {
      if (Object.hasOwn(c as object, "errorName")) classes.push((c as typeof ProviderError).errorName);
    }
    this[CLASSES] = classes;
    this.name = classes[0];
    this.code = code;
  }

  static is(value: unknown): value is ProviderError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  /**
   * `x instanceof NotFoundError` holds for a NotFoundError of any copy of this module, and `x instanceof
   * ProviderError` for an error of any version of it. A class without an `errorName` of its own (a subclass
   * written outside this module) keeps the ordinary prototype check.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (ordinaryHasInstance.call(this, value)) return true;
    if (!ProviderError.is(value) || !Object.hasOwn(this, "errorName")) return false;
    if (this.errorName === "ProviderError") return true;
    const classes = (value as unknown as Record<symbol, unknown>)[CLASSES];
    return Array.isArray(classes) && classes.includes(this.errorName);
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
  static override readonly errorName: string = "ApiError";
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

/** 404 or 410: the object does not exist. */
export class NotFoundError extends ApiError {
  static override readonly errorName: string = "NotFoundError";
}
/** 401: the credential was refused. */
export class UnauthorizedError extends ApiError {
  static override readonly errorName: string = "UnauthorizedError";
}
/** 403: the credential may not do this. */
export class ForbiddenError extends ApiError {
  static override readonly errorName: string = "ForbiddenError";
}
/** 409: the platform refuses the change in the object's current state. */
export class ConflictError extends ApiError {
  static override readonly errorName: string = "ConflictError";
}
/** 429: too many requests, past what the retries wait for. */
export class RateLimitedError extends ApiError {
  static override readonly errorName: string = "RateLimitedError";
}
/** 400 or 422: the platform rejected the request. */
export class ValidationError extends ApiError {
  static override readonly errorName: string = "ValidationError";
}
/** 5xx: the platform failed, past what the retries wait for. */
export class ServerError extends ApiError {
  static override readonly errorName: string = "ServerError";
}

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
  static override readonly errorName: string = "TransportError";
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
    this.platform = init.platform;
    this.method = init.method;
    this.path = init.path;
    this.status = init.status;
    this.requestId = init.requestId;
  }
}

/** The provider is not configured well enough to make the call; raised before any request is sent. */
export class ConfigurationError extends ProviderError {
  static override readonly errorName: string = "ConfigurationError";
  constructor(message: string) {
    super("configuration", message);
  }
}

/** One rejected input property, as Pulumi's check failures name them. */
export interface InputFailure {
  property: string;
  reason: string;
}

/** Inputs rejected before any API call. */
export class InputError extends ProviderError {
  static override readonly errorName: string = "InputError";
  readonly failures: InputFailure[];
  constructor(resource: string, failures: InputFailure[]) {
    super("invalid_input", `${resource}: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    this.failures = failures;
  }
}

/** A platform operation ran but ended badly (a failed deployment, a failed async run). */
export class OperationError extends ProviderError {
  static override readonly errorName: string = "OperationError";
  readonly platform: Platform;
  readonly context: Record<string, string | number | undefined>;
  constructor(platform: Platform, message: string, context: Record<string, string | number | undefined>) {
    const ctx = Object.entries(context)
      .filter(([, v]) => v !== undefined && v !== "")
      .map(([k, v]) => `${k}=${v}`)
      .join(", ");
    super("operation_failed", `${platform}: ${message}${ctx ? ` (${ctx})` : ""}`);
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

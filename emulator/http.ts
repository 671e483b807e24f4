import type { IncomingHttpHeaders, IncomingMessage } from "node:http";

/** Largest request body the emulator accepts (1 MiB); larger bodies get 413 `payload_too_large`. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** An error that becomes an `{"error": {...}}` response. Messages must never contain a secret value. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** One field problem of a 400 `validation_error`. */
export interface FieldError {
  field: string;
  message: string;
}

/** 400 `validation_error` naming the first offending field in the message and all of them in details. */
export function validationError(errors: FieldError[]): HttpError {
  const first = errors[0];
  const message = errors.length === 1 ? first.message : `${first.message} (and ${errors.length - 1} more)`;
  return new HttpError(400, "validation_error", message, { field: first.field, errors });
}

/** A handler's answer. `body === undefined` sends no body (e.g. 204). */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** What a handler sees of one request. */
export interface RequestContext {
  readonly method: string;
  /** Path without the query string, as received (percent-encoded). */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Decoded path parameters of the matched route template. */
  readonly params: Record<string, string>;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: Buffer;
  readonly requestId: string;
  readonly remoteAddress: string;
  /** The matched route template, e.g. `/v1/connections/:id`. */
  readonly route: string;
  /** The body as a JSON object; 400/415 otherwise. */
  json(): Record<string, unknown>;
  /** Like json(), but an empty body gives `{}`. */
  jsonOrEmpty(): Record<string, unknown>;
}

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

/** One entry of the route table. */
export interface Route {
  method: string;
  /** Path template: literal segments and `:name` parameters, e.g. `/v1/connections/:id/credentials`. */
  path: string;
  handler: Handler;
  /** Admin routes: loopback only, not counted by `/_admin/requests`. */
  admin?: boolean;
}

interface CompiledRoute extends Route {
  segments: string[];
  literals: number;
}

export type MatchResult =
  | { kind: "found"; route: Route; params: Record<string, string> }
  | { kind: "method_not_allowed"; allowed: string[] }
  | { kind: "not_found" };

function splitPath(path: string): string[] {
  const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  return trimmed.split("/").slice(1);
}

/**
 * A route table matched by path template. More literal segments win over parameters, so
 * `/v1/services/:id/deployments` and `/v1/services/:id/deploy` never shadow each other. Platforms mount their
 * routes with a prefix (`mount("/flightcontrol", routes)`).
 */
export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(route: Route): this {
    const segments = splitPath(route.path);
    this.routes.push({ ...route, segments, literals: segments.filter((s) => !s.startsWith(":")).length });
    return this;
  }

  mount(prefix: string, routes: Route[]): this {
    const clean = prefix === "/" ? "" : prefix.replace(/\/$/, "");
    for (const route of routes) this.add({ ...route, path: clean + route.path });
    return this;
  }

  /** Every template in the table, for documentation checks. */
  list(): Array<{ method: string; path: string; admin: boolean }> {
    return this.routes.map((r) => ({ method: r.method, path: r.path, admin: r.admin === true }));
  }

  match(method: string, path: string): MatchResult {
    const parts = splitPath(path);
    let best: { route: CompiledRoute; params: Record<string, string> } | undefined;
    const allowed = new Set<string>();
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method !== method) {
        allowed.add(route.method);
        continue;
      }
      if (!best || route.literals > best.route.literals) best = { route, params };
    }
    if (best) return { kind: "found", route: best.route, params: best.params };
    if (allowed.size > 0) return { kind: "method_not_allowed", allowed: [...allowed].sort() };
    return { kind: "not_found" };
  }
}

function matchSegments(template: string[], parts: string[]): Record<string, string> | undefined {
  if (template.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i];
    const p = parts[i];
    if (t.startsWith(":")) {
      if (p === "") return undefined;
      let decoded: string;
      try {
        decoded = decodeURIComponent(p);
      } catch {
        return undefined;
      }
      params[t.slice(1)] = decoded;
    } else if (t !== p) {
      return undefined;
    }
  }
  return params;
}

/** Outcome of reading a request body with a size limit. */
export type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: "too_large" | "aborted" };

/**
 * Reads the whole body. Past `limit` bytes the rest is drained and discarded (so the client still reads the 413
 * instead of a reset connection); past 64x the limit the socket is destroyed.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) tooLarge = true;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (size > limit * 64) {
        req.destroy();
        return;
      }
      if (!tooLarge) chunks.push(chunk);
    });
    req.on("end", () =>
      resolve(tooLarge ? { ok: false, reason: "too_large" } : { ok: true, body: Buffer.concat(chunks) }),
    );
    req.on("error", () => resolve({ ok: false, reason: "aborted" }));
    req.on("close", () => {
      if (!req.complete) resolve({ ok: false, reason: "aborted" });
    });
  });
}

function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return true;
  const mime = value.split(";")[0].trim().toLowerCase();
  return mime === "application/json" || (mime.startsWith("application/") && mime.endsWith("+json"));
}

/** Parses a body as a JSON object, with the emulator's error rules. Never echoes the body back. */
export function parseJsonObject(
  raw: Buffer,
  contentType: string | undefined,
  allowEmpty: boolean,
): Record<string, unknown> {
  const text = raw.toString("utf8");
  if (text.trim() === "") {
    if (allowEmpty) return {};
    throw new HttpError(400, "bad_request", "request body is required and must be a JSON object");
  }
  if (!isJsonContentType(contentType)) {
    throw new HttpError(
      415,
      "unsupported_media_type",
      "request body must be JSON (Content-Type: application/json)",
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's own message quotes the body, which may hold a secret: do not pass it on.
    throw new HttpError(400, "bad_request", "request body is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new HttpError(400, "bad_request", "request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/** Error envelope: `{"error": {code, message, details, request_id}}`. */
export function errorBody(err: HttpError, requestId: string): unknown {
  return { error: { code: err.code, message: err.message, details: err.details, request_id: requestId } };
}

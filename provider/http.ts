// The one HTTP layer every platform client uses: pooled connections, timeouts, bounded retries, and errors
// that carry platform, method, path, status, request id and the API's own message, with secrets masked.
import type { Agent, Dispatcher } from "undici";
import { ApiError, TransportError, apiErrorFor, redact, type Platform, type ProviderError } from "./errors";
import type { PlatformSettings } from "./settings";

/**
 * undici, loaded at the first request rather than with the provider: `check` and `diff` (all a `pulumi preview`
 * without refresh calls) never make one, and loading undici is about half of a fresh host's first call.
 */
const undici = (): typeof import("undici") => require("undici");

export interface RetryPolicy {
  /** Attempts after the first one. */
  maxRetries: number;
  /** First backoff; doubles per attempt, full jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Retry-After is honoured up to this cap; a longer wait fails instead. */
  maxRetryAfterMs: number;
  /** Total time budget for one logical request, retries included. */
  maxElapsedMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxRetries: 4,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
  maxElapsedMs: 120_000,
};

export interface HttpClientOptions {
  platform: Platform;
  baseUrl: string;
  /** Headers for every request (Authorization and the like); read per request. */
  headers: () => Record<string, string>;
  /** Values that must never appear in an error message (the credential, at least). */
  secrets: () => string[];
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  dispatcher?: Dispatcher;
  /** Called before each retry; tests and logs use it. Never receives secrets. */
  onRetry?: (info: {
    method: string;
    path: string;
    attempt: number;
    delayMs: number;
    reason: string;
  }) => void;
}

export interface RequestSpec {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path with ids already encoded through `encodePath`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /**
   * Whether the request may be repeated blindly after a lost answer (5xx gateway errors, resets).
   * Defaults to true for GET, PUT and DELETE and false for POST/PATCH: a POST that creates a credential is
   * never repeated without knowing whether the first one took effect.
   */
  idempotent?: boolean;
  /** Values in this request that must be masked in errors (secret env values, connection secrets...). */
  secrets?: string[];
  /** Statuses that are answers rather than errors (e.g. 404 on a DELETE). */
  accept?: number[];
}

export interface HttpResponse<T = unknown> {
  status: number;
  body: T;
  requestId?: string;
  headers: Record<string, string | string[] | undefined>;
}

// One pool per process: every resource handled by the same host reuses connections.
let sharedAgent: Agent | undefined;
export function sharedDispatcher(): Dispatcher {
  sharedAgent ??= new (undici().Agent)({
    keepAliveTimeout: 30_000,
    connections: 64,
    connect: { timeout: 10_000 },
  });
  return sharedAgent;
}

/** Encodes one path segment; ids never reach a URL unescaped. */
export function encodePath(strings: TemplateStringsArray, ...values: Array<string | number>): string {
  return strings.reduce(
    (acc, s, i) => acc + s + (i < values.length ? encodeURIComponent(String(values[i])) : ""),
    "",
  );
}

const RETRYABLE_STATUS = new Set([502, 503, 504]);
const RETRYABLE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);

export class HttpClient {
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;

  constructor(private readonly opts: HttpClientOptions) {
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  get platform(): Platform {
    return this.opts.platform;
  }

  /**
   * The error for an answer that is not what the API documents (a 2xx without a field it promises, a body of
   * another shape): never acted on, never taken to mean "gone", so state is kept.
   */
  badAnswer(
    method: string,
    path: string,
    res: { status?: number; requestId?: string } | undefined,
    reason: string,
  ): TransportError {
    return new TransportError("bad_response", {
      platform: this.platform,
      method,
      path,
      status: res?.status,
      requestId: res?.requestId,
      reason,
    });
  }

  /**
   * The one rule for deletes: the object the platform confirms gone (404/410) is what was asked for, so a
   * DELETE resolves then too (a retried DELETE whose first attempt succeeded gets exactly that answer). Every
   * other failure throws. Reads have the opposite rule: a 404/410 throws NotFoundError (see `unlessGone`).
   */
  async remove(spec: Omit<RequestSpec, "method" | "accept">): Promise<void> {
    await this.request({ ...spec, method: "DELETE", accept: [404, 410] });
  }

  async request<T = unknown>(spec: RequestSpec): Promise<HttpResponse<T>> {
    const idempotent =
      spec.idempotent ?? (spec.method === "GET" || spec.method === "PUT" || spec.method === "DELETE");
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      let failure: ProviderError;
      let reason: string;
      let retryAfterMs: number | undefined;
      try {
        const outcome = await this.once<T>(spec);
        if (!(outcome instanceof ApiError)) return outcome;
        failure = outcome;
        retryAfterMs = outcome.retryAfterMs;
        reason = `status ${outcome.status}`;
      } catch (e) {
        failure = this.transportError(spec, e);
        reason = failure.code;
      }
      if (!this.isRetryable(failure, idempotent) || attempt >= this.retry.maxRetries) throw failure;
      let delay: number;
      if (retryAfterMs !== undefined) {
        if (retryAfterMs > this.retry.maxRetryAfterMs) throw failure;
        delay = retryAfterMs;
      } else {
        const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt);
        delay = Math.round(cap / 2 + (Math.random() * cap) / 2);
      }
      if (Date.now() - started + delay > this.retry.maxElapsedMs) throw failure;
      this.opts.onRetry?.({
        method: spec.method,
        path: spec.path,
        attempt: attempt + 1,
        delayMs: delay,
        reason,
      });
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private isRetryable(err: ProviderError, idempotent: boolean): boolean {
    if (err instanceof ApiError) {
      // A 429 means the request was refused before it took effect, so even a create may be sent again.
      if (err.status === 429) return true;
      return idempotent && RETRYABLE_STATUS.has(err.status);
    }
    if (err instanceof TransportError) {
      // A reset after the request was sent may have lost the answer to a change that was made.
      return idempotent && (err.code === "network" || err.code === "timeout");
    }
    return false;
  }

  private url(spec: RequestSpec): string {
    const u = new URL(this.opts.baseUrl + spec.path);
    for (const [k, v] of Object.entries(spec.query ?? {}))
      if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  private async once<T>(spec: RequestSpec): Promise<HttpResponse<T> | ApiError> {
    const headers: Record<string, string> = { accept: "application/json", ...this.opts.headers() };
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers["content-type"] = "application/json";
    }
    const res = await undici().request(this.url(spec), {
      method: spec.method,
      headers,
      body,
      dispatcher: this.opts.dispatcher ?? sharedDispatcher(),
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      signal: AbortSignal.timeout(this.timeoutMs + 1_000),
    });
    const requestId = headerValue(res.headers["x-request-id"]);
    let text: string;
    try {
      text = await res.body.text();
    } catch (e) {
      throw this.transportError(spec, e, res.statusCode, requestId);
    }
    let parsed: unknown = undefined;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        if (res.statusCode < 400) {
          throw new TransportError("bad_response", {
            platform: this.opts.platform,
            method: spec.method,
            path: spec.path,
            status: res.statusCode,
            requestId,
            reason: "the response body is not valid JSON",
          });
        }
      }
    }
    if (res.statusCode < 400 || spec.accept?.includes(res.statusCode)) {
      return { status: res.statusCode, body: parsed as T, requestId, headers: res.headers };
    }
    const secrets = [...this.opts.secrets(), ...(spec.secrets ?? [])];
    const envelope = (
      parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined
    )?.error;
    const apiMessage =
      typeof envelope?.message === "string"
        ? envelope.message
        : parsed === undefined && text
          ? text.slice(0, 300)
          : typeof (parsed as { message?: unknown })?.message === "string"
            ? (parsed as { message: string }).message
            : undefined;
    return apiErrorFor({
      platform: this.opts.platform,
      method: spec.method,
      path: spec.path,
      status: res.statusCode,
      requestId: requestId ?? (envelope as { request_id?: string } | undefined)?.request_id,
      apiCode: typeof envelope?.code === "string" ? envelope.code : undefined,
      apiMessage: apiMessage === undefined ? undefined : redact(apiMessage, secrets),
      details:
        envelope?.details === undefined
          ? undefined
          : JSON.parse(redact(JSON.stringify(envelope.details), secrets)),
      retryAfterMs: parseRetryAfter(headerValue(res.headers["retry-after"])),
    });
  }

  private transportError(spec: RequestSpec, e: unknown, status?: number, requestId?: string): TransportError {
    if (e instanceof TransportError) return e;
    const code = (e as { code?: string; name?: string })?.code ?? (e as { name?: string })?.name ?? "";
    const timeout = /TIMEOUT|TimeoutError|AbortError/.test(code);
    const known = RETRYABLE_CODES.has(code) || timeout;
    const reason = timeout
      ? `no answer within ${this.timeoutMs} ms`
      : known
        ? `connection failed (${code})`
        : `request failed (${redact(String((e as Error)?.message ?? e), this.opts.secrets())})`;
    return new TransportError(
      timeout ? "timeout" : "network",
      { platform: this.opts.platform, method: spec.method, path: spec.path, status, requestId, reason },
      { cause: e },
    );
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Retry-After in seconds or as an HTTP date. */
export function parseRetryAfter(v: string | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** What a caller (a test, a benchmark) may change in a platform client; the rest comes from its settings. */
export type ClientOverrides = Pick<HttpClientOptions, "dispatcher" | "retry" | "timeoutMs" | "onRetry">;

/**
 * The HTTP client of one platform's settings: its base URL, its credential in the platform's header form, and
 * that credential masked in every error and log line. The one shape of the three platforms' client factories.
 */
export function platformHttp(
  settings: PlatformSettings,
  authorization: (credential: string) => string,
  overrides: ClientOverrides,
): HttpClient {
  const credential = settings.credential;
  return new HttpClient({
    platform: settings.platform,
    baseUrl: settings.baseUrl,
    headers: () => ({ authorization: authorization(credential), "user-agent": "pulumi-dynamiq" }),
    secrets: () => [credential],
    ...overrides,
  });
}

// Fault injection: the admin surface arms faults on any non-admin route, for the next N matching requests or a
// fraction of them, so that tests can prove how the provider behaves when the network or the platform misbehaves.
import { HttpError, validationError, type Route } from "./http";

/** What a fault does. "Before" kinds answer without running the handler (nothing is committed). */
export const FAULT_KINDS = [
  "latency", // wait `ms` before running the handler (or after it, with `after: true`), then answer normally
  "status", // answer `status` (401/403, 429 with Retry-After `retryAfter` seconds, or 500/502/503/504) without running the handler
  "reset", // destroy the connection before running the handler
  "commit_drop", // run the handler (the change is committed), then destroy the connection: the answer is lost
  "truncated", // run the handler, then send half of the body and close
  "malformed", // run the handler, then answer its status with a body that is not JSON
  "missing_field", // run the handler, then answer with `field` removed from `data` (or from the top level)
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultRule {
  id: number;
  /** `METHOD /route/template` (e.g. `POST /v1/access-keys`), `METHOD *`, `* /template`, or `*`. */
  route: string;
  kind: FaultKind;
  /** Applies to the next `times` matching requests (default: unlimited when `fraction` is set, else 1). */
  times?: number;
  /** Applies to this fraction of matching requests (0..1), drawn from a seeded generator. */
  fraction?: number;
  ms?: number;
  after?: boolean;
  status?: number;
  retryAfter?: number;
  field?: string;
  /** How many requests this rule has faulted so far. */
  fired: number;
}

const STATUSES = new Set([401, 403, 429, 500, 502, 503, 504]);

/** mulberry32: a small seeded generator, so a fraction of faults is reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultTable {
  private rules: FaultRule[] = [];
  private nextId = 1;
  private random = seeded(1);
  /** Faults fired since the last clear, by kind. */
  fired: Record<string, number> = {};

  clear(): void {
    this.rules = [];
    this.fired = {};
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  add(body: Record<string, unknown>): FaultRule {
    const bad = (field: string, message: string) => validationError([{ field, message }]);
    const route = body.route ?? "*";
    if (typeof route !== "string" || route.length > 300) throw bad("route", "route must be a string");
    const kind = body.kind;
    if (typeof kind !== "string" || !(FAULT_KINDS as readonly string[]).includes(kind)) {
      throw bad("kind", `kind must be one of: ${FAULT_KINDS.join(", ")}`);
    }
    const num = (field: string, min: number, max: number, int = true): number | undefined => {
      const v = body[field];
      if (v === undefined) return undefined;
      if (
        typeof v !== "number" ||
        !Number.isFinite(v) ||
        v < min ||
        v > max ||
        (int && !Number.isInteger(v))
      ) {
        throw bad(field, `${field} must be a number from ${min} to ${max}`);
      }
      return v;
    };
    const rule: FaultRule = { id: this.nextId++, route, kind: kind as FaultKind, fired: 0 };
    const times = num("times", 1, 1_000_000);
    const fraction = num("fraction", 0, 1, false);
    if (times !== undefined) rule.times = times;
    if (fraction !== undefined) rule.fraction = fraction;
    if (times === undefined && fraction === undefined) rule.times = 1;
    const ms = num("ms", 0, 600_000);
    if (kind === "latency") rule.ms = ms ?? 100;
    if (body.after !== undefined) {
      if (typeof body.after !== "boolean") throw bad("after", "after must be a boolean");
      rule.after = body.after;
    }
    if (kind === "status") {
      const status = num("status", 100, 599);
      if (status === undefined || !STATUSES.has(status)) {
        throw bad("status", "status must be one of 401, 403, 429, 500, 502, 503, 504");
      }
      rule.status = status;
      const retryAfter = num("retryAfter", 0, 3600, false);
      if (retryAfter !== undefined) rule.retryAfter = retryAfter;
    }
    if (kind === "missing_field") {
      if (typeof body.field !== "string" || body.field === "") throw bad("field", "field is required");
      rule.field = body.field;
    }
    const seed = num("seed", 0, 2 ** 32 - 1);
    if (seed !== undefined) this.random = seeded(seed);
    this.rules.push(rule);
    return { ...rule };
  }

  /** The rule that applies to this request, if any; consumes one of its `times`. */
  take(method: string, template: string): FaultRule | undefined {
    for (const rule of this.rules) {
      if (!matches(rule.route, method, template)) continue;
      if (rule.times !== undefined && rule.fired >= rule.times) continue;
      if (rule.fraction !== undefined && this.random() >= rule.fraction) continue;
      rule.fired += 1;
      this.fired[rule.kind] = (this.fired[rule.kind] ?? 0) + 1;
      return rule;
    }
    return undefined;
  }
}

function matches(pattern: string, method: string, template: string): boolean {
  if (pattern === "*") return true;
  const space = pattern.indexOf(" ");
  if (space < 0) return pattern === template;
  const m = pattern.slice(0, space);
  const p = pattern.slice(space + 1);
  return (m === "*" || m.toUpperCase() === method) && (p === "*" || p === template);
}

/** The status a `status` fault answers with, as an HttpError the server sends in the usual envelope. */
export function faultError(rule: FaultRule): HttpError {
  const status = rule.status ?? 503;
  if (status === 429) {
    return new HttpError(
      429,
      "rate_limited",
      "too many requests (injected fault)",
      {},
      rule.retryAfter !== undefined ? { "retry-after": String(rule.retryAfter) } : {},
    );
  }
  const code = { 401: "unauthorized", 403: "forbidden", 500: "internal_error" }[status] ?? "unavailable";
  return new HttpError(status, code, "injected fault");
}

/** Removes `field` from the `data` object of a body (or from the body itself when it has no `data`). */
export function withoutField(body: unknown, field: string): unknown {
  if (!body || typeof body !== "object") return body;
  const b = body as Record<string, unknown>;
  const target = b.data && typeof b.data === "object" && !Array.isArray(b.data) ? "data" : undefined;
  if (target) {
    const { [field]: _, ...rest } = b.data as Record<string, unknown>;
    return { ...b, data: rest };
  }
  const { [field]: _, ...rest } = b;
  return rest;
}

export function faultRoutes(faults: FaultTable): Route[] {
  return [
    {
      method: "GET",
      path: "/_admin/faults",
      admin: true,
      handler: () => ({ status: 200, body: { faults: faults.list(), fired: { ...faults.fired } } }),
    },
    {
      method: "POST",
      path: "/_admin/faults",
      admin: true,
      handler: (ctx) => ({ status: 200, body: faults.add(ctx.json()) }),
    },
    {
      method: "DELETE",
      path: "/_admin/faults",
      admin: true,
      handler: () => {
        faults.clear();
        return { status: 200, body: { ok: true } };
      },
    },
  ];
}

// Turns zod issues into Pulumi-style check failures: `{ property: "config.api_key", reason: "..." }`.
// A value that is unknown during preview is never reported: it will be checked again once it is known.
import type { z as Z } from "zod";
import type { InputFailure } from "./errors";
import { isUnknown } from "./resource";

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let cur = root;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function propertyPath(prefix: string, path: ReadonlyArray<PropertyKey>): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

function describe(issue: Z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case "invalid_type":
      if (value === undefined) return "is required";
      // A schema may name the rule itself ("must be an integer"); otherwise name the expected type.
      return `${issue.message.startsWith("must ") ? issue.message : `must be ${article(issue.expected)}`}, got ${typeName(value)}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    default:
      return issue.message;
  }
}

function article(t: string): string {
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "number" && !Number.isInteger(v)) return "a fractional number";
  return typeof v;
}

/**
 * Validates `value` and returns failures named from `prefix`. `unknownKeyReason` explains why an unknown key
 * is an error for this property.
 */
export function failuresOf(
  schema: Z.ZodType,
  value: unknown,
  prefix: string,
  unknownKeyReason = "unknown property",
): InputFailure[] {
  const res = schema.safeParse(value);
  if (res.success) return [];
  const out: InputFailure[] = [];
  for (const issue of res.error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const k of issue.keys)
        out.push({ property: propertyPath(prefix, [...issue.path, k]), reason: unknownKeyReason });
      continue;
    }
    const v = valueAt(value, issue.path);
    if (isUnknown(v)) continue;
    out.push({ property: propertyPath(prefix, issue.path), reason: describe(issue, v) });
  }
  return out;
}

/**
 * The inputs as the user gave them: undefined values dropped before validation. (The host's own properties,
 * `__provider` and the lookup marker, never get here: provider/dynamic.ts strips them for every call.)
 */
export function userInputs(news: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(news)) if (v !== undefined) out[k] = v;
  return out;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A string with no control characters, checked for valid UTF-16 (no lone surrogates). */
export function isCleanText(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u001f\u007f]/.test(s) && s.isWellFormed();
}

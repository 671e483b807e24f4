// The shape of one resource's semantics, independent of Pulumi: validation, what changes in place and what
// replaces, the API calls, and how drift is read. The Pulumi dynamic provider (dynamic.ts) is a thin front-end
// over these; a Terraform front-end can sit on the same definitions.
import { NotFoundError, type InputFailure, type Platform } from "./errors";
import type { DynamiqClient } from "./clients/dynamiq";
import type { DypaiClient } from "./clients/dypai";
import type { FlightcontrolClient } from "./clients/flightcontrol";

/** How Pulumi marks a value that is not known yet (during preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(v: unknown): boolean {
  return v === UNKNOWN;
}

export interface CheckResult<I> {
  inputs: I;
  failures: InputFailure[];
}

export interface DiffOutcome {
  changes: boolean;
  /** Properties whose change forces a replacement; empty when the change is in place. */
  replaces: string[];
  /**
   * Every property that differs (`changes` says whether any does). Pulumi's dynamic-provider host carries only
   * `changes`, `replaces` and `deleteBeforeReplace` to the engine, so the CLI shows none of this list: it is what
   * the definitions' tests assert, and what a front-end that can carry detailed diffs would show.
   */
  diffs: string[];
  deleteBeforeReplace?: boolean;
}

export interface ReadOutcome<I, O> {
  id: string;
  props: O;
  inputs?: I;
}

/**
 * What a resource's operations may use: the clients of the host's configuration (provider/dynamic.ts builds each
 * at its first use and keeps it until the host is configured again) and the clock.
 */
export interface ResourceContext {
  dynamiq(): DynamiqClient;
  /**
   * The credential the Dynamiq client authenticates with (to recognise the provider's own token), and where it
   * is set (`dynamiq:token`, an environment variable, or the token of an explicit provider instance).
   */
  dynamiqCredential(): { value: string; setting: string };
  /** Flightcontrol client (stack config `flightcontrol:*`, then FLIGHTCONTROL_* environment variables). */
  flightcontrol(): FlightcontrolClient;
  /** DYPAI client (stack config `dypai:*`, then DYPAI_* environment variables). */
  dypai(): DypaiClient;
  now(): Date;
}

export interface ResourceDefinition<I, O> {
  /** Pulumi type suffix, e.g. "Connection" for `pulumi-nodejs:dynamic/dynamiq:Connection`. */
  readonly type: string;
  /** The platform whose API it calls: which settings, and which explicit provider instance, it takes. */
  readonly platform: Platform;
  /** `now` is injectable so that time-dependent rules (expiry, rotation) can be tested. */
  check(olds: Record<string, unknown>, news: Record<string, unknown>, now?: Date): CheckResult<I>;
  diff(id: string, olds: O, news: I, now?: Date): DiffOutcome;
  create(ctx: ResourceContext, inputs: I): Promise<{ id: string; outs: O }>;
  /** Null means the platform confirmed the object is gone (404/410); any other failure throws. */
  read(ctx: ResourceContext, id: string, props: O): Promise<ReadOutcome<I, O> | null>;
  update(ctx: ResourceContext, id: string, olds: O, news: I): Promise<O>;
  delete(ctx: ResourceContext, id: string, props: O): Promise<void>;
}

/** Deep equality for JSON values, ignoring key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual(ao[k], bo[k]));
}

/** True when any value inside is Pulumi's unknown marker. */
export function containsUnknown(v: unknown): boolean {
  if (isUnknown(v)) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (v && typeof v === "object") return Object.values(v).some(containsUnknown);
  return false;
}

/** Collects the properties that differ; an unknown new value counts as a difference. */
export function changedKeys<T extends object>(olds: T, news: T, keys: Array<keyof T & string>): string[] {
  return keys.filter((k) => containsUnknown(news[k]) || !jsonEqual(olds[k], news[k]));
}

/**
 * The one rule for reading an object back: only a confirmed 404/410 means it is gone (null); every other
 * failure (401, 403, 429, 5xx, a broken answer) is thrown, so a refresh keeps state.
 */
export async function unlessGone<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
}

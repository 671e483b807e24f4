import { afterAll, beforeAll, beforeEach } from "vitest";
import { startEmulator, type Emulator, type EmulatorOptions } from "../../emulator/server";

// Response bodies are checked field by field in the tests; a loose type keeps them readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Res {
  status: number;
  body: Json;
  text: string;
  headers: Headers;
}

export interface CallOptions {
  /** Bearer credential; omitted means no Authorization header. */
  token?: string;
  /** JSON body (serialised). */
  json?: unknown;
  /** Raw body, sent as is. */
  raw?: string | Uint8Array;
  headers?: Record<string, string>;
}

/** One real HTTP request against the emulator. */
export async function call(
  emu: Emulator,
  method: string,
  path: string,
  opts: CallOptions = {},
): Promise<Res> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let body: string | Uint8Array | undefined;
  if (method === "GET" || method === "HEAD") {
    // fetch refuses bodies on these methods
  } else if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers["content-type"] ??= "application/json";
  } else if (opts.raw !== undefined) {
    body = opts.raw;
  }
  const res = await fetch(emu.baseUrl + path, { method, headers, body });
  const text = await res.text();
  let parsed: Json = undefined;
  if (text !== "") {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/** A call with the seeded user's PAT. */
export function asUser(emu: Emulator, method: string, path: string, json?: unknown): Promise<Res> {
  return call(emu, method, path, { token: emu.dynamiq.userPat, json });
}

/** An admin call (no auth). */
export function admin(emu: Emulator, method: string, path: string, json?: unknown): Promise<Res> {
  return call(emu, method, path, { json });
}

/** Starts an emulator that collects its log lines instead of printing them. */
export async function startQuiet(opts: EmulatorOptions = {}): Promise<{ emu: Emulator; logs: string[] }> {
  const logs: string[] = [];
  const emu = await startEmulator({ ...opts, log: (line) => logs.push(line) });
  return { emu, logs };
}

/**
 * One quiet emulator for a test file, back at its seed before every test; `set` receives it (and its log) once
 * it is up, and it is closed after the file.
 */
export function useSeededEmulator(set: (started: { emu: Emulator; logs: string[] }) => void): void {
  let emu: Emulator | undefined;
  beforeAll(async () => {
    const started = await startQuiet();
    emu = started.emu;
    set(started);
  });
  afterAll(() => emu?.close());
  beforeEach(async () => {
    await admin(emu!, "POST", "/_admin/reset");
  });
}

/** Creates an access key as the seeded user and returns the response body's data. */
export async function createAccessKey(
  emu: Emulator,
  fields: { name?: string; org_id?: string; project_id?: string; expires_at?: string } = {},
): Promise<Json> {
  const res = await asUser(emu, "POST", "/v1/access-keys", {
    name: "test-key",
    org_id: emu.dynamiq.orgId,
    ...fields,
  });
  if (res.status !== 200) throw new Error(`create access key failed: ${res.status} ${res.text}`);
  return res.body.data;
}

/** Polls until `check` holds (or fails after `timeoutMs`). */
export async function eventually<T>(
  fn: () => Promise<T>,
  check: (v: T) => boolean,
  timeoutMs = 2000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An RFC 3339 timestamp `days` from now. */
export function inDays(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString();
}

// Shared helpers for integration tests: the emulator, its admin surface, engine runs and secret scans.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmulator, type Emulator } from "../../emulator/server";
import {
  GONE,
  ProjectStack,
  type RunOptions,
  type RunResult,
  type StateResource,
  type Verb,
} from "../../engine/stack";
import { expect } from "vitest";
import { LeakAudit } from "./leaks";

export type { RunResult, StateResource } from "../../engine/stack";
export { GONE } from "../../engine/stack";

export { LeakAudit } from "./leaks";

// The suite's leak audit (test files run isolated, so this is per suite): every Stack and every emulator started
// here reports to it, and `auditLeaks` scans them all at the end (afterAll).
const suiteAudit = new LeakAudit("suite");
const suiteStacks: Stack[] = [];
const emulatorLogs: string[] = [];
const runErrors: string[] = [];

/** Sets an environment variable, or removes it for `undefined` (assigning undefined would store "undefined"). */
export function setEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** Registers secret values a suite used outside a Stack's config (values set by hand, minted tokens...). */
export function auditSecrets(...values: unknown[]): void {
  suiteAudit.add(...values);
}

const SECRET_FIELD = /key|secret|password|token|credential|private/i;

/** Secret values found in a stack's (decrypted) state: credential keys, secret config, secret env, stores. */
async function secretsInState(stack: Stack): Promise<void> {
  for (const r of await stack.resources()) {
    for (const props of [r.inputs ?? {}, r.outputs ?? {}]) {
      suiteAudit.add(props.key, props.value);
      for (const group of ["secretEnv", "parameterStore", "secretsManager"])
        suiteAudit.addValues(props[group]);
      const config = props.config;
      if (config && typeof config === "object")
        for (const [k, v] of Object.entries(config)) if (SECRET_FIELD.test(k)) suiteAudit.addValues(v);
    }
  }
}

/**
 * The secret-leak audit of a suite: every secret the suite's stacks were configured with or hold in state, and
 * every value registered with `auditSecrets`, searched in each stack's state file, `__provider` texts and printed
 * output, in every error message of a run, and in the emulator's log. Returns what was found (the figure is 0).
 */
export async function auditLeaks(suite: string, ...extra: unknown[]): Promise<string[]> {
  suiteAudit.suite = suite;
  suiteAudit.add(...extra);
  for (const stack of suiteStacks) await secretsInState(stack);
  for (const [i, stack] of suiteStacks.entries()) suiteAudit.scan(await stack.places(`stack ${i + 1}`));
  suiteAudit.scan({ "error messages": runErrors.join("\n"), "emulator log": emulatorLogs.join("\n") });
  console.log(
    `leak audit ${suiteAudit.suite}: ${suiteAudit.size} secrets, ${suiteAudit.scanned} places, ${suiteAudit.found.length} leaks`,
  );
  return suiteAudit.found;
}

/**
 * The end of a suite that ran against `emu`: the emulator closed, then the suite's secret-leak audit, whose
 * figure must be zero (a leak fails the suite).
 */
export async function closeAndAudit(
  emu: Emulator | undefined,
  suite: string,
  ...extra: unknown[]
): Promise<void> {
  await emu?.close();
  expect(await auditLeaks(suite, ...extra)).toEqual([]);
}

export const ROOT = path.resolve(__dirname, "..", "..");
export const program = (name: string) => path.join(ROOT, "test", "fixtures", "programs", name);

export async function emulator(): Promise<Emulator> {
  const emu = await startEmulator({ port: 0, log: (line) => void emulatorLogs.push(line) });
  suiteAudit.add(emu.dynamiq.userPat, emu.flightcontrol.apiKey, emu.dypai.token);
  return emu;
}

/**
 * A stack's settings on the emulator: every platform's base URL and seeded credential as stack config (what a
 * user sets with `pulumi config set`), then the program's own `config` and `secrets`.
 */
export function onEmulator(
  emu: Emulator,
  own: { config?: Record<string, string>; secrets?: Record<string, string> } = {},
): { config: Record<string, string>; secrets: Record<string, string> } {
  return {
    config: {
      "dynamiq:baseUrl": emu.baseUrl,
      "flightcontrol:baseUrl": emu.flightcontrol.baseUrl,
      "dypai:baseUrl": emu.dypai.baseUrl,
      ...own.config,
    },
    secrets: {
      "dynamiq:token": emu.dynamiq.userPat,
      "flightcontrol:apiKey": emu.flightcontrol.apiKey,
      "dypai:token": emu.dypai.token,
      ...own.secrets,
    },
  };
}

/** A call to the emulator's admin surface; a non-2xx answer throws with its body. */
export async function adminCall<T = Record<string, unknown>>(
  emu: Emulator,
  method: string,
  route: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${emu.baseUrl}/_admin/${route}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`admin ${method} ${route}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** GET an admin route, or POST to it when there is a body. */
export async function admin<T = Record<string, unknown>>(
  emu: Emulator,
  route: string,
  body?: unknown,
): Promise<T> {
  return adminCall<T>(emu, body === undefined ? "GET" : "POST", route, body);
}

export interface RequestCounts {
  total: number;
  routes: Record<string, number>;
  /** Management calls per Dynamiq user id (whose Personal Access Token made them). */
  callers: Record<string, number>;
}

export async function requests(emu: Emulator): Promise<RequestCounts> {
  return admin<RequestCounts>(emu, "requests");
}

export async function resetRequests(emu: Emulator): Promise<void> {
  await fetch(`${emu.baseUrl}/_admin/requests`, { method: "DELETE" });
}

export function tempDir(prefix = "dynamiq-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** What a test run takes: the engine's run options plus stack config set for this run and kept after it. */
export interface StackRunOptions extends RunOptions {
  config?: Record<string, string>;
  secrets?: Record<string, string>;
}

/**
 * A stack of one program on the real Pulumi CLI (engine/stack.ts), with a file backend and PULUMI_HOME in a
 * temporary folder of its own, and the stack config every run shares. Config given to a run is set with
 * `pulumi config set` and so stays for later runs, as it would for a user.
 */
export class Stack {
  readonly outputs: string[] = [];
  readonly workDir = tempDir("dynamiq-stack-");
  private opened?: Promise<ProjectStack>;

  constructor(
    readonly programDir: string,
    readonly base: { config?: Record<string, string>; secrets?: Record<string, string> },
  ) {
    suiteStacks.push(this);
    suiteAudit.addValues(base.secrets);
  }

  /** The engine's stack, opened on first use. */
  project(): Promise<ProjectStack> {
    this.opened ??= ProjectStack.open({ programDir: this.programDir, workDir: this.workDir });
    return this.opened;
  }

  /** Sets stack config (the base config, then these values), as `pulumi config set` would. */
  async setConfig(config: Record<string, string> = {}, secrets: Record<string, string> = {}): Promise<void> {
    const stack = await this.project();
    await stack.setConfig({ ...this.base.config, ...config }, { ...this.base.secrets, ...secrets });
    suiteAudit.addValues(secrets);
  }

  async run(verb: Verb, opts: StackRunOptions = {}): Promise<RunResult> {
    const { config, secrets, ...runOptions } = opts;
    await this.setConfig(config, secrets);
    const r = await (await this.project()).run(verb, runOptions);
    this.outputs.push(r.log);
    runErrors.push(...r.errors);
    // Keys minted by this run are secrets from now on, even if a later destroy removes them from state.
    await secretsInState(this);
    return r;
  }

  /** The resources in state, secrets decrypted (`pulumi stack export --show-secrets`). */
  async resources(): Promise<StateResource[]> {
    if (!this.opened) return [];
    return (await (await this.opened).exportState(true)).deployment.resources ?? [];
  }

  /** What the state holds as stored: `pulumi stack export` and every file the CLI wrote for the stack. */
  async stateText(): Promise<string> {
    if (!this.opened) return "";
    const stack = await this.opened;
    return `${JSON.stringify(await stack.exportState(false))}\n${stack.storedText()}`;
  }

  /** The `__provider` text of every resource, decrypted if the runtime marked it secret. */
  async providerTexts(): Promise<string[]> {
    return (await this.resources())
      .map((r) => r.inputs?.__provider)
      .filter((p): p is string => typeof p === "string");
  }

  /** The places a secret must never appear in plaintext, by name. */
  async places(label = "stack"): Promise<Record<string, string>> {
    return {
      [`${label} state`]: await this.stateText(),
      [`${label} __provider`]: (await this.providerTexts()).join("\n"),
      [`${label} output`]: this.outputs.join("\n"),
    };
  }

  /** Every secret found in plaintext in the stored state, the `__provider` texts or anything printed. */
  async leaks(secrets: string[]): Promise<string[]> {
    const found: string[] = [];
    for (const s of secrets)
      for (const [where, text] of Object.entries(await this.places()))
        if (text.includes(s)) found.push(`${where}: ${s.slice(0, 6)}…`);
    return found;
  }
}

/** Counts the steps of the package's own resources (the stack and the default provider left out). */
export function ops(r: RunResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of r.steps) if (s.type.startsWith("pulumi-nodejs:dynamic/")) out[s.op] = (out[s.op] ?? 0) + 1;
  return out;
}

export async function runtimeEnv(emu: Emulator, serviceId: string): Promise<Record<string, string>> {
  return (await admin<{ env: Record<string, string> }>(emu, `services/${serviceId}/runtime`)).env;
}

/** Calls the service's deployed endpoint with an Access Key; true when it is accepted. */
export async function keyWorks(emu: Emulator, serviceId: string, key: string | undefined): Promise<boolean> {
  if (!key) return false;
  const res = await fetch(`${emu.baseUrl}/apps/${serviceId}/invoke`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}` },
  });
  return res.status === 200;
}

/**
 * Keeps checking, until stopped, that the key the service currently runs with is accepted by the deployed
 * endpoint: the zero-downtime property of a rotation.
 */
export function watchServiceKey(emu: Emulator, serviceId: string, variable = "DYNAMIQ_ACCESS_KEY") {
  let running = true;
  const seen = new Set<string>();
  let checks = 0;
  let failures = 0;
  const loop = (async () => {
    while (running) {
      const key = (await runtimeEnv(emu, serviceId))[variable];
      if (key) seen.add(key);
      checks++;
      if (!(await keyWorks(emu, serviceId, key))) failures++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return async () => {
    running = false;
    await loop;
    return { checks, failures, keys: [...seen] };
  };
}

/** A Management API call made directly, as a person with a PAT would (to create drift or adoptable objects). */
export async function api<T = Record<string, unknown>>(
  emu: Emulator,
  method: string,
  route: string,
  body?: unknown,
  token = emu.dynamiq.userPat,
): Promise<T> {
  const res = await fetch(`${emu.baseUrl}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text}`);
  return (text ? JSON.parse(text).data : undefined) as T;
}

/** Which key each consumer of examples/multi-platform holds right now, read from the emulator's admin views. */
export async function heldKeys(
  emu: Emulator,
  ids: { dynamiqServiceId: string; flightcontrolServiceId: string; dypaiEngineId: string },
  variable = "DYNAMIQ_ACCESS_KEY",
): Promise<Record<"dynamiq" | "flightcontrol" | "dypai", string | undefined>> {
  const [rt, fc, dy] = await Promise.all([
    runtimeEnv(emu, ids.dynamiqServiceId),
    admin<{ variables: Record<string, { value?: string }> }>(
      emu,
      `flightcontrol/services/${ids.flightcontrolServiceId}/env`,
    ),
    admin<{ secrets: Record<string, { value?: string }> }>(emu, `dypai/engines/${ids.dypaiEngineId}/secrets`),
  ]);
  return {
    dynamiq: rt[variable],
    flightcontrol: fc.variables[variable]?.value,
    dypai: dy.secrets[variable]?.value,
  };
}

/**
 * The engine's report of a check failure: `property <path> value {<value, secrets redacted>} has a problem:
 * <reason>`, for the property path and rule our `check` returned.
 */
export function checkFailure(property: string, rule: string): RegExp {
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`property ${escape(property)} value \\{.*\\} has a problem: ${escape(rule)}`);
}

/** The step of one resource in a run, the refresh steps left out. */
export function stepOf(r: RunResult, name: string) {
  return r.steps.find((s) => s.name === name && s.op !== "refresh");
}

/** The refresh step of one resource: a refresh that found a difference, or found the resource gone. */
export function refreshOf(r: RunResult, name: string) {
  return r.steps.find((s) => s.name === name && s.op === "refresh");
}

/** True when the run's refresh found the resource gone and dropped it from state. */
export function droppedByRefresh(r: RunResult, name: string): boolean {
  return refreshOf(r, name)?.diffs?.includes(GONE) ?? false;
}

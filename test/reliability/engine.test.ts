// End-to-end reliability figures through the engine harness: a run killed between create and state write, then
// a run that ends with no duplicate and no orphan; 200 resources created in one run while the emulator injects
// 10% transient faults; a refresh under faults that loses no state entry. Every figure is counted on the
// emulator's records.
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import { ROOT, Stack, auditLeaks, auditSecrets, emulator, program, tempDir } from "../support";
import { arm, disarm, fired, openIntents, records } from "./support";

let emu: Emulator;
const journal = tempDir("dynamiq-journal-");
const API_KEY = "sk-reliability-openai-key-0123456789";

beforeAll(async () => {
  emu = await emulator();
  auditSecrets(API_KEY);
});

afterAll(async () => {
  await emu?.close();
  expect(auditLeaks("reliability engine")).toEqual([]);
});

const base = () => ({
  config: {
    "dynamiq:baseUrl": emu.dynamiq.baseUrl,
    orgId: emu.dynamiq.orgId,
    projectId: emu.dynamiq.projectId,
  },
  secrets: { "dynamiq:token": emu.dynamiq.userPat, apiKey: API_KEY },
});

interface Named {
  id: string;
  name: string;
}

/** Platform objects whose name starts with `prefix`, by kind. */
async function platform(prefix: string): Promise<Record<string, Named[]>> {
  const out: Record<string, Named[]> = {};
  for (const kind of ["access_key", "personal_access_token", "connection"]) {
    out[kind] = (await records<Named>(emu, kind)).filter((r) => r.name.startsWith(prefix + "-"));
  }
  return out;
}

const KIND_OF: Record<string, string> = {
  AccessKey: "access_key",
  PersonalAccessToken: "personal_access_token",
  Connection: "connection",
};

/** Checks state against the platform: one object per state entry, and returns orphans and duplicates. */
async function account(stack: Stack, prefix: string) {
  const state = stack.resources().filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"));
  const onPlatform = await platform(prefix);
  const known = new Set(state.map((r) => r.id));
  let orphans = 0;
  let duplicates = 0;
  for (const [kind, objs] of Object.entries(onPlatform)) {
    orphans += objs.filter((o) => !known.has(o.id)).length;
    const names = objs.map((o) => o.name);
    duplicates += names.length - new Set(names).size;
    void kind;
  }
  const missing = state.filter((r) => {
    const kind = KIND_OF[r.type.split(":").pop()!];
    return !onPlatform[kind]?.some((o) => o.id === r.id);
  }).length;
  return { entries: state.length, orphans, duplicates, missing };
}

describe("engine runs under faults", () => {
  it("a run killed between create and state write is followed by a run with no duplicate and no orphan", async () => {
    const stack = new Stack(program("reliability"), base());
    const cfg = { ...base().config, prefix: "intr", keys: "1", tokens: "1", connections: "1" };
    // The creates commit, and their answers are held back long enough to kill the run while they are in flight.
    for (const route of ["POST /v1/access-keys", "POST /v1/personal-access-tokens", "POST /v1/connections"]) {
      await arm(emu, { route, kind: "latency", ms: 60_000, after: true, times: 1 });
    }
    const args = [
      path.join(ROOT, "dist", "harness", "cli.js"),
      "up",
      program("reliability"),
      "--state",
      stack.statePath,
    ];
    for (const [k, v] of Object.entries(cfg)) args.push("-c", `${k}=${v}`);
    for (const [k, v] of Object.entries(base().secrets)) args.push("--secret", `${k}=${v}`);
    const child = spawn(process.execPath, args, {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, DYNAMIQ_PROVIDER_JOURNAL: journal },
    });
    let printed = "";
    child.stdout.on("data", (c: Buffer) => (printed += c.toString()));
    child.stderr.on("data", (c: Buffer) => (printed += c.toString()));
    const exited = new Promise((r) => child.on("exit", r));
    // Wait until the platform holds all three objects (their answers still held back), then kill the run.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const p = await platform("intr");
      if (Object.values(p).every((objs) => objs.length === 1)) break;
      if (Date.now() > deadline) throw new Error(`the killed run never created its objects:\n${printed}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const leftBehind = await platform("intr");
    process.kill(-child.pid!, "SIGKILL");
    await exited;
    stack.outputs.push(printed);
    await disarm(emu);
    await new Promise((r) => setTimeout(r, 200));
    // The killed run's log holds its three creates, begun and never done.
    const killedLogs = openIntents(journal);
    expect(Object.values(killedLogs)).toEqual([3]);
    const before = await account(stack, "intr");
    expect(before.entries).toBe(0); // state never heard of them
    expect(before.orphans).toBe(3);

    const r = await stack.run("up", { config: cfg, env: { DYNAMIQ_PROVIDER_JOURNAL: journal } });
    expect(r.exitCode, r.log).toBe(0);
    const after = await account(stack, "intr");
    expect(after).toEqual({ entries: 3, orphans: 0, duplicates: 0, missing: 0 });
    // Credentials whose answer was lost are revoked (their secret is gone for good); the connection is adopted.
    const now = await platform("intr");
    expect(now.access_key[0].id).not.toBe(leftBehind.access_key[0].id);
    expect(now.personal_access_token[0].id).not.toBe(leftBehind.personal_access_token[0].id);
    expect(now.connection[0].id).toBe(leftBehind.connection[0].id);
    // Settled, the killed run's log is gone; the new run's log has nothing open.
    const left = openIntents(journal);
    for (const f of Object.keys(killedLogs)) expect(left[f]).toBeUndefined();
    expect(Object.values(left).every((n) => n === 0)).toBe(true);
    console.log(
      `interrupted run: 3 objects left by the killed run; next run: ${after.entries} entries, ${after.orphans} orphans, ${after.duplicates} duplicates`,
    );
    const d = await stack.run("destroy", { config: cfg, env: { DYNAMIQ_PROVIDER_JOURNAL: journal } });
    expect(d.exitCode, d.log).toBe(0);
  });

  it("200 resources in one run under 10% transient faults: all in state, one object each, no orphan; a refresh under faults loses nothing", async () => {
    const stack = new Stack(program("reliability"), base());
    const cfg = { ...base().config, prefix: "many", keys: "80", tokens: "60", connections: "60" };
    const env = { DYNAMIQ_PROVIDER_JOURNAL: journal };
    // Four transient kinds, 2.5% each, on every route (a seeded draw): ~10% of requests.
    await arm(emu, { route: "*", kind: "status", status: 503, fraction: 0.025, seed: 42 });
    await arm(emu, { route: "*", kind: "status", status: 429, retryAfter: 0.05, fraction: 0.025 });
    await arm(emu, { route: "*", kind: "reset", fraction: 0.025 });
    await arm(emu, { route: "*", kind: "commit_drop", fraction: 0.025 });
    const started = Date.now();
    const r = await stack.run("up", { config: cfg, env });
    const upFaults = await fired(emu);
    expect(r.exitCode, r.log).toBe(0);
    const after = await account(stack, "many");
    expect(after).toEqual({ entries: 200, orphans: 0, duplicates: 0, missing: 0 });

    const refreshed = await stack.run("refresh", { config: cfg, env });
    const allFaults = await fired(emu);
    await disarm(emu);
    // A refresh may fail on a fault that is not retried, but it never drops an entry that still exists.
    const kept = await account(stack, "many");
    expect(kept.entries).toBe(200);
    const faults = Object.values(allFaults).reduce((a, b) => a + b, 0);
    console.log(
      `200 resources under faults: up ${Date.now() - started} ms, faults injected ${JSON.stringify(upFaults)} (up) / ${faults} (up + refresh, refresh exit ${refreshed.exitCode}); entries ${kept.entries}, orphans ${after.orphans}, duplicates ${after.duplicates}, state entries lost ${200 - kept.entries}`,
    );
    expect(Object.values(upFaults).reduce((a, b) => a + b, 0)).toBeGreaterThan(10);

    const d = await stack.run("destroy", { config: cfg, env });
    expect(d.exitCode, d.log).toBe(0);
    expect(Object.values(await platform("many")).flat()).toEqual([]);
  });
});

// End-to-end reliability figures on the real Pulumi CLI: a `pulumi up` killed between create and checkpoint, then
// a run that ends with no duplicate and no orphan; 200 resources created in one run while the emulator injects
// 10% transient faults; a refresh under faults that loses no state entry. Every figure is counted on the
// emulator's records.
import { spawn } from "node:child_process";
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import { Stack, auditLeaks, auditSecrets, emulator, program, tempDir } from "../support";
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
  expect(await auditLeaks("reliability engine")).toEqual([]);
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

/** The pids of Pulumi dynamic-provider hosts running with this intent journal. */
function providerHosts(journalDir: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
      const environ = fs.readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (
        cmdline.includes("cmd/dynamic-provider") &&
        environ.includes(`DYNAMIQ_PROVIDER_JOURNAL=${journalDir}`)
      )
        pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const KIND_OF: Record<string, string> = {
  AccessKey: "access_key",
  PersonalAccessToken: "personal_access_token",
  Connection: "connection",
};

/** Checks state against the platform: one object per state entry, and returns orphans and duplicates. */
async function account(stack: Stack, prefix: string) {
  const state = (await stack.resources()).filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"));
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
  it("a `pulumi up` killed between create and checkpoint is followed by a run with no duplicate and no orphan", async () => {
    const stack = new Stack(program("reliability"), base());
    const cfg = { ...base().config, prefix: "intr", keys: "1", tokens: "1", connections: "1" };
    const env = { DYNAMIQ_PROVIDER_JOURNAL: journal };
    // An empty first run sets up the stack and its config; the killed run is the one that creates.
    await stack.run("up", { config: { ...cfg, keys: "0", tokens: "0", connections: "0" }, env });
    await stack.setConfig(cfg);
    // The creates commit, and their answers are held back long enough to kill the run while they are in flight.
    for (const route of ["POST /v1/access-keys", "POST /v1/personal-access-tokens", "POST /v1/connections"]) {
      await arm(emu, { route, kind: "latency", ms: 60_000, after: true, times: 1 });
    }
    // `pulumi up` in a process group of its own (the CLI, the program, the provider host), as a CI job runs it.
    const cmd = (await stack.project()).commandLine(["up", "--yes", "--skip-preview"]);
    const child = spawn(cmd.file, cmd.args, {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...cmd.env, ...env },
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
    const hosts = providerHosts(journal);
    expect(hosts).toHaveLength(1);
    process.kill(-child.pid!, "SIGKILL");
    await exited;
    // The engine starts its plugins in a process group of their own, so the provider host outlives the kill;
    // it sees its engine gone and exits, its creates unfinished (provider/engine.ts).
    const hostDeadline = Date.now() + 15_000;
    while (providerHosts(journal).length > 0 && Date.now() < hostDeadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(providerHosts(journal)).toEqual([]);
    stack.outputs.push(printed);
    await disarm(emu);
    await new Promise((r) => setTimeout(r, 200));
    // The killed run's journal holds its three creates, begun and never done.
    const killedLogs = openIntents(journal);
    expect(Object.values(killedLogs).filter((n) => n > 0)).toEqual([3]);
    const before = await account(stack, "intr");
    expect(before.entries).toBe(0); // state never heard of them
    expect(before.orphans).toBe(3);
    // What the engine recorded: the three creates as pending operations, and nothing else.
    const exported = await (await stack.project()).exportState(false);
    const pending = exported.deployment.pending_operations ?? [];
    expect(pending.map((p) => [p.type, p.resource.type.split(":").pop()]).sort()).toEqual([
      ["creating", "AccessKey"],
      ["creating", "Connection"],
      ["creating", "PersonalAccessToken"],
    ]);

    // The killed run still holds the stack's lock: the next run refuses until `pulumi cancel` removes it.
    const locked = await stack.run("up", { env });
    expect(locked.exitCode).not.toBe(0);
    expect(locked.log).toMatch(/the stack is currently locked/);
    expect(await platform("intr")).toEqual(leftBehind);
    await (await stack.project()).cli(["cancel", "--yes", "--stack", "dev"]);
    const pendingNow = async () =>
      ((await (await stack.project()).exportState(false)).deployment.pending_operations ?? []).length;

    // A non-interactive refresh leaves pending creates to a person; it creates nothing either.
    const refreshed = await stack.run("refresh", { env });
    expect(refreshed.exitCode, refreshed.log).toBe(0);
    expect(await pendingNow()).toBe(3);
    expect(await platform("intr")).toEqual(leftBehind);

    // `pulumi up` warns about the interrupted creates and runs them again; our journal settles what the killed
    // ones left, so nothing is duplicated and nothing is orphaned.
    const r = await stack.run("up", { env });
    expect(r.exitCode, r.log).toBe(0);
    expect(r.log).toMatch(/3 pending operations from previous deployment/);
    const after = await account(stack, "intr");
    expect(after).toEqual({ entries: 3, orphans: 0, duplicates: 0, missing: 0 });
    // The engine keeps its own record of the interrupted creates until a refresh clears it.
    expect(await pendingNow()).toBe(3);
    const cleared = await stack.run("refresh", { env, clearPendingCreates: true });
    expect(cleared.exitCode, cleared.log).toBe(0);
    expect(await pendingNow()).toBe(0);
    expect(await account(stack, "intr")).toEqual(after);
    // Credentials whose answer was lost are revoked (their secret is gone for good); the connection is adopted.
    const now = await platform("intr");
    expect(now.access_key[0].id).not.toBe(leftBehind.access_key[0].id);
    expect(now.personal_access_token[0].id).not.toBe(leftBehind.personal_access_token[0].id);
    expect(now.connection[0].id).toBe(leftBehind.connection[0].id);
    // Settled, the killed run's log is gone; the new run's log has nothing open.
    const left = openIntents(journal);
    for (const [f, n] of Object.entries(killedLogs)) if (n > 0) expect(left[f]).toBeUndefined();
    expect(Object.values(left).every((n) => n === 0)).toBe(true);
    console.log(
      `interrupted run: 3 objects left by the killed run, ${pending.length} pending operations in state; next run: ${after.entries} entries, ${after.orphans} orphans, ${after.duplicates} duplicates`,
    );
    const d = await stack.run("destroy", { env });
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

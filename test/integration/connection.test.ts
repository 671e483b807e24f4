// Connection end to end on the real Pulumi CLI (engine/stack.ts), against the Dynamiq emulator.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import {
  Stack,
  admin,
  adminCall,
  closeAndAudit,
  droppedByRefresh,
  emulator,
  ops,
  program,
  requests,
  resetRequests,
} from "../support";

let emu: Emulator;
let stack: Stack;
const apiKey = "sk-openai-" + "9".repeat(24);
const rotatedKey = "sk-openai-rotated-" + "7".repeat(16);

beforeAll(async () => {
  emu = await emulator();
  stack = new Stack(program("connection"), {
    config: { projectId: emu.dynamiq.projectId, "dynamiq:baseUrl": emu.baseUrl, extraConfig: "{}" },
    secrets: { "dynamiq:token": emu.dynamiq.userPat, apiKey },
  });
});
// The suite's secret-leak audit (test/support/leaks.ts) runs after the emulator closes: the figure is zero.
afterAll(() => closeAndAudit(emu, "connection"));

const connections = async () =>
  (await admin<{ records: Array<Record<string, unknown>> }>(emu, "records?kind=connection")).records.filter(
    (c) => !c.is_system,
  );

describe("Connection on the real engine", () => {
  let id: string;

  it("creates the connection with one API call and keeps secrets out of state, __provider and output", async () => {
    await resetRequests(emu);
    const r = await stack.run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ create: 1 });
    expect((await requests(emu)).routes).toEqual({ "POST /v1/connections": 1 });
    id = String(r.outputs.id);
    expect(r.outputs.status).toBe("active");
    const [rec] = await connections();
    expect(rec).toMatchObject({ id, name: "test-openai", type: "dynamiq.connections.OpenAI" });
    expect(await stack.leaks([apiKey, emu.dynamiq.userPat])).toEqual([]);
    // The token was read at call time: the provider code in state is only a loader.
    const providers = await stack.providerTexts();
    expect(providers).toHaveLength(1);
    for (const text of providers) {
      expect(text).toContain('require("pulumi-dynamiq/provider")');
      expect(text.length).toBeLessThan(8 * 1024);
    }
  });

  it("makes no API call on a no-op up", async () => {
    await resetRequests(emu);
    const r = await stack.run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ same: 1 });
    expect((await requests(emu)).total).toBe(0);
  });

  it("updates config in place with one PUT", async () => {
    await resetRequests(emu);
    const r = await stack.run("up", { secrets: { apiKey: rotatedKey } });
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ update: 1 });
    expect((await requests(emu)).routes).toEqual({ [`PUT /v1/connections/:id`]: 1 });
    expect(r.outputs.id).toBe(id);
    expect(await stack.leaks([apiKey, rotatedKey])).toEqual([]);
  });

  it("finds an out-of-band change on refresh, fails the CI drift check, and restores it on up", async () => {
    await admin(emu, "tamper", {
      kind: "connection",
      id,
      patch: { config: { url: "https://rogue.example.com" } },
    });
    const check = await stack.run("preview", { refresh: true, expectNoChanges: true });
    // The CLI's exit code for "no changes were expected but changes were proposed".
    expect(check.exitCode, check.log).toBe(7);
    expect(check.log).toContain("no changes were expected for preview but changes were proposed");
    // The refresh took the tampered config into the (secret) state; the update puts the declared one back.
    expect(ops(check)).toEqual({ update: 1 });
    await resetRequests(emu);
    const fix = await stack.run("up", { refresh: true });
    expect(fix.exitCode, fix.log).toBe(0);
    expect((await requests(emu)).routes).toEqual({
      "GET /v1/connections/:id": 1,
      "PUT /v1/connections/:id": 1,
    });
    const [rec] = await connections();
    expect((rec.config as Record<string, unknown>).url).toBeUndefined();
    const clean = await stack.run("preview", { refresh: true, expectNoChanges: true });
    expect(clean.exitCode, clean.log).toBe(0);
  });

  it("replaces on rename: the new connection exists before the old one is deleted", async () => {
    await resetRequests(emu);
    const r = await stack.run("up", { config: { name: "test-openai-2" } });
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ replace: 1 });
    expect(r.outputs.id).not.toBe(id);
    expect((await requests(emu)).routes).toEqual({
      "POST /v1/connections": 1,
      "DELETE /v1/connections/:id": 1,
    });
    const all = await connections();
    expect(all.map((c) => c.name)).toEqual(["test-openai-2"]);
    id = String(r.outputs.id);
  });

  it("keeps state on 401 during refresh and drops it only on a confirmed 404", async () => {
    // `pulumi refresh` configures the provider from state, not from the stack config just changed, so the
    // platform itself answers 401 here (as it does for a revoked token).
    await admin(emu, "faults", { route: "GET /v1/connections/:id", kind: "status", status: 401 });
    const denied = await stack.run("refresh");
    await adminCall(emu, "DELETE", "faults");
    expect(denied.exitCode).not.toBe(0);
    expect(denied.log).toMatch(/401/);
    expect((await stack.resources()).some((r) => r.id === id)).toBe(true);
    await admin(emu, "delete", { kind: "connection", id });
    const gone = await stack.run("refresh");
    expect(gone.exitCode, gone.log).toBe(0);
    expect(droppedByRefresh(gone, "conn")).toBe(true);
    expect((await stack.resources()).some((r) => r.id === id)).toBe(false);
    const again = await stack.run("up");
    expect(ops(again)).toEqual({ create: 1 });
    id = String(again.outputs.id);
  });

  it("rejects bad input at check, naming the property and the rule, with no API call", async () => {
    await resetRequests(emu);
    const r = await stack.run("up", { config: { extraConfig: JSON.stringify({ api_base: "https://x" }) } });
    expect(r.exitCode).not.toBe(0);
    expect(r.log).toContain("config.api_base");
    expect(r.log).toMatch(/drop it silently/);
    expect((await requests(emu)).total).toBe(0);
  });

  it("refuses an Access Key as the provider credential before any call", async () => {
    await resetRequests(emu);
    const key = "dynamiq_acc_" + "k".repeat(64);
    const r = await stack.run("up", {
      config: { extraConfig: '{"url":"https://api.openai.com/v1"}' },
      secrets: { "dynamiq:token": key },
    });
    expect(r.exitCode).not.toBe(0);
    expect(r.log).toMatch(/Personal Access Token/);
    expect(r.log).not.toContain(key);
    expect((await requests(emu)).total).toBe(0);
    // Even a failed `up` records the stack config as the default provider's inputs, and refresh and destroy
    // configure the provider from state. So the recovery is an `up` with the right token, which records it.
    const refreshed = await stack.run("refresh");
    expect(refreshed.log).toMatch(/Personal Access Token/);
    const fixed = await stack.run("up", { secrets: { "dynamiq:token": emu.dynamiq.userPat } });
    expect(fixed.exitCode, fixed.log).toBe(0);
    expect(ops(fixed)).toEqual({ same: 1 });
  });

  it("explains a refused delete of a connection in use, then destroys", async () => {
    await admin(emu, `connections/${id}/in-use`, { inUse: true });
    const refused = await stack.run("destroy");
    expect(refused.exitCode).not.toBe(0);
    expect(refused.log).toMatch(/still in use/);
    expect((await stack.resources()).some((r) => r.id === id)).toBe(true);
    await admin(emu, `connections/${id}/in-use`, { inUse: false });
    const r = await stack.run("destroy");
    expect(r.exitCode, r.log).toBe(0);
    expect(await connections()).toEqual([]);
    expect(await stack.leaks([apiKey, rotatedKey, emu.dynamiq.userPat])).toEqual([]);
  });
});

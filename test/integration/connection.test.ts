// Connection end to end: the real Pulumi runtime and dynamic-provider host, driven by the engine harness,
// against the Dynamiq emulator.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import { Stack, admin, emulator, ops, program, requests, resetRequests, auditLeaks } from "../support";

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
afterAll(async () => {
  await emu?.close();
  // The secret-leak audit of this suite (test/support/leaks.ts): the figure is zero.
  expect(auditLeaks("connection")).toEqual([]);
});

const connections = async () =>
  (await admin<{ records: Array<Record<string, unknown>> }>(emu, "records?kind=connection")).records.filter(
    (c) => !c.is_system,
  );

describe("Connection through the engine harness", () => {
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
    expect(stack.leaks([apiKey, emu.dynamiq.userPat])).toEqual([]);
    // The token was read at call time: the provider code in state is only a loader.
    for (const text of stack.providerTexts()) {
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
    expect(stack.leaks([apiKey, rotatedKey])).toEqual([]);
  });

  it("finds an out-of-band change on refresh, fails the CI drift check, and restores it on up", async () => {
    await admin(emu, "tamper", {
      kind: "connection",
      id,
      patch: { config: { url: "https://rogue.example.com" } },
    });
    const check = await stack.run("preview", { refresh: true, expectNoChanges: true });
    expect(check.exitCode).not.toBe(0);
    expect(ops(check)).toEqual({ read: 1, update: 1 });
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
    const denied = await stack.run("refresh", { secrets: { "dynamiq:token": "dyn_pat_" + "x".repeat(64) } });
    expect(denied.exitCode).not.toBe(0);
    expect(denied.log).toMatch(/401/);
    expect(stack.resources().some((r) => r.id === id)).toBe(true);
    await admin(emu, "delete", { kind: "connection", id });
    const gone = await stack.run("refresh");
    expect(gone.exitCode, gone.log).toBe(0);
    expect(stack.resources().some((r) => r.id === id)).toBe(false);
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
  });

  it("explains a refused delete of a connection in use, then destroys", async () => {
    await admin(emu, `connections/${id}/in-use`, { inUse: true });
    const refused = await stack.run("destroy");
    expect(refused.exitCode).not.toBe(0);
    expect(refused.log).toMatch(/still in use/);
    expect(stack.resources().some((r) => r.id === id)).toBe(true);
    await admin(emu, `connections/${id}/in-use`, { inUse: false });
    const r = await stack.run("destroy");
    expect(r.exitCode, r.log).toBe(0);
    expect(await connections()).toEqual([]);
    expect(stack.leaks([apiKey, rotatedKey, emu.dynamiq.userPat])).toEqual([]);
  });
});

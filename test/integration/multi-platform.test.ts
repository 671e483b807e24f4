// One rotation across three platforms in one up: the new Dynamiq key reaches a Dynamiq deployment, a
// Flightcontrol service and a DYPAI engine, and the old key is revoked last.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import { ROOT, Stack, admin, emulator, heldKeys, keyWorks, ops, onEmulator, closeAndAudit } from "../support";

let emu: Emulator;
beforeAll(async () => {
  emu = await emulator();
});
// The suite's secret-leak audit (test/support/leaks.ts) runs after the emulator closes: the figure is zero.
afterAll(() => closeAndAudit(emu, "multi-platform"));

describe("examples/multi-platform", () => {
  it("rotates the key and no consumer ever holds a revoked key", async () => {
    const ids = {
      dynamiqServiceId: emu.dynamiq.serviceId,
      flightcontrolServiceId: emu.flightcontrol.serviceId,
      dypaiEngineId: emu.dypai.engineId,
    };
    const stack = new Stack(
      path.join(ROOT, "examples", "multi-platform"),
      onEmulator(emu, { config: { orgId: emu.dynamiq.orgId, projectId: emu.dynamiq.projectId, ...ids } }),
    );
    const up = await stack.run("up");
    expect(up.exitCode, up.log).toBe(0);
    expect(ops(up)).toEqual({ create: 4 });
    const first = await heldKeys(emu, ids);
    expect(first.dynamiq).toMatch(/^dynamiq_acc_/);
    expect(first.flightcontrol).toBe(first.dynamiq);
    expect(first.dypai).toBe(first.dynamiq);
    expect(await keyWorks(emu, ids.dynamiqServiceId, first.dynamiq)).toBe(true);

    await admin(emu, "age", { kind: "access_key", id: up.outputs.keyId, days: 31 });
    const preview = await stack.run("preview", { refresh: true });
    const planned = Object.fromEntries(
      preview.steps.filter((s) => s.op !== "refresh").map((s) => [s.name, s.op]),
    );
    expect(planned).toMatchObject({
      "backend-key": "replace",
      "dynamiq-worker": "replace",
      "flightcontrol-web": "update",
      "dypai-engine": "update",
    });

    // Throughout the rotating up, every consumer's key must be accepted by the deployed endpoint.
    let running = true;
    let checks = 0;
    const revokedHeld: string[] = [];
    const watcher = (async () => {
      while (running) {
        const held = await heldKeys(emu, ids);
        for (const [consumer, key] of Object.entries(held)) {
          if (!(await keyWorks(emu, ids.dynamiqServiceId, key))) revokedHeld.push(consumer);
        }
        checks++;
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    const rotated = await stack.run("up", { refresh: true });
    running = false;
    await watcher;
    expect(rotated.exitCode, rotated.log).toBe(0);
    expect(checks).toBeGreaterThan(3);
    expect(revokedHeld).toEqual([]);

    const after = await heldKeys(emu, ids);
    expect(after.dynamiq).not.toBe(first.dynamiq);
    expect(after.flightcontrol).toBe(after.dynamiq);
    expect(after.dypai).toBe(after.dynamiq);
    expect(await keyWorks(emu, ids.dynamiqServiceId, first.dynamiq)).toBe(false);
    expect(await keyWorks(emu, ids.dynamiqServiceId, after.dynamiq)).toBe(true);
    expect(
      await stack.leaks([
        first.dynamiq!,
        after.dynamiq!,
        emu.dynamiq.userPat,
        emu.flightcontrol.apiKey,
        emu.dypai.token,
      ]),
    ).toEqual([]);
    expect((await stack.run("destroy")).exitCode).toBe(0);
  });
});

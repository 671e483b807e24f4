// The examples are real Pulumi programs: each one must compile, pass check and deploy against the emulator,
// and a second up must find nothing to do.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import { ROOT, Stack, emulator, ops, closeAndAudit } from "../support";

let emu: Emulator;
beforeAll(async () => {
  emu = await emulator();
});
// The suite's secret-leak audit (test/support/leaks.ts) runs after the emulator closes: the figure is zero.
afterAll(() => closeAndAudit(emu, "examples"));

describe("examples", () => {
  it("quickstart: deploys, is idempotent, and destroys", async () => {
    const d = emu.dynamiq;
    const stack = new Stack(path.join(ROOT, "examples", "quickstart"), {
      config: {
        orgId: d.orgId,
        projectId: d.projectId,
        serviceId: d.serviceId,
        "dynamiq:baseUrl": emu.baseUrl,
      },
      secrets: {
        "dynamiq:token": d.userPat,
        openaiApiKey: "sk-example-openai",
        dbPassword: "example-db-password",
      },
    });
    const up = await stack.run("up");
    expect(up.exitCode, up.log).toBe(0);
    expect(ops(up)).toEqual({ create: 4 });
    const again = await stack.run("preview", { refresh: true, expectNoChanges: true });
    expect(again.exitCode, again.log).toBe(0);
    expect(await stack.leaks([d.userPat, "sk-example-openai", "example-db-password"])).toEqual([]);
    expect((await stack.run("destroy")).exitCode).toBe(0);
  });

  it("rotation: deploys, is idempotent, and destroys", async () => {
    const stack = new Stack(path.join(ROOT, "examples", "rotation"), {
      config: { orgId: emu.dynamiq.orgId, projectId: emu.dynamiq.projectId, "dynamiq:baseUrl": emu.baseUrl },
      secrets: { "dynamiq:token": emu.dynamiq.userPat },
    });
    const up = await stack.run("up");
    expect(up.exitCode, up.log).toBe(0);
    expect(ops(up)).toEqual({ create: 4 });
    const again = await stack.run("preview", { refresh: true, expectNoChanges: true });
    expect(again.exitCode, again.log).toBe(0);
    const trigger = await stack.run("preview", { config: { triggerValue: "incident-42" } });
    expect(trigger.steps.find((s) => s.name === "by-trigger" && s.op === "replace")?.replaces).toEqual([
      "rotation.trigger",
    ]);
    expect((await stack.run("destroy")).exitCode).toBe(0);
  });
});

// Failures: a failing Create, a created-but-not-initialised resource, Check failures, program exceptions, and
// the protect / retainOnDelete options.

import * as fs from "fs";
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";

import { Workspace, crud, fixture } from "./helpers";

const ws = new Workspace("failures");
const programDir = fixture("failures");
const statePath = (name: string) => path.join(ws.dir, `${name}.json`);

afterAll(() => ws.cleanup());

describe("engine harness: failures", () => {
  it("a failing Create fails the run after in-flight steps finish; what completed stays in state", async () => {
    const r = await ws.run({
      verb: "up",
      programDir,
      statePath: statePath("create"),
      config: { scenario: "createFail" },
    });
    expect(r.exitCode, r.log).toBe(1);
    expect(r.errors.some((e) => e.includes("(bad)") && e.includes("the remote API rejected bad"))).toBe(true);
    // half was in flight when bad failed: it finished, as created-but-not-initialised.
    expect(
      r.errors.some((e) => e.includes("(half)") && e.includes("half was created but never became ready")),
    ).toBe(true);
    const j = ws.journal();
    expect(j.filter((e) => e.method === "create").map((e) => `${e.label}:${e.phase}`)).toEqual(
      expect.arrayContaining(["ok:end", "bad:failed", "half:initFailed"]),
    );

    const names = ws.resources(statePath("create")).map((x) => x.urn.split("::").pop());
    expect(names).toContain("ok");
    expect(names).not.toContain("bad");
    // An init failure (ErrorResourceInitFailed detail) keeps the resource, with its id and properties.
    const half = ws.resource("::half", statePath("create"));
    const halfCreate = j.find((e) => e.method === "create" && e.label === "half" && e.phase === "begin");
    expect(half.id).toBe(halfCreate?.id);
    expect(half.outputs?.generated).toMatch(/^gen-/);
    expect(half.initErrors).toEqual(["not ready after 0 checks"]);
    expect(r.log).toContain("error: pulumi-nodejs:dynamic/fixture:Thing (bad):");
  });

  it("Check failures abort the resource: each `property: reason` is printed and Create never runs", async () => {
    const mark = ws.mark();
    const r = await ws.run({
      verb: "up",
      programDir,
      statePath: statePath("check"),
      config: { scenario: "checkFail" },
    });
    expect(r.exitCode, r.log).toBe(1);
    expect(r.errors).toContainEqual(expect.stringContaining("value: value must not be 'invalid'"));
    expect(r.log).toContain("value: value must not be 'invalid'");
    const j = ws.since(mark);
    expect(j.some((e) => e.method === "check" && e.label === "invalid")).toBe(true);
    expect(crud(j)).toEqual([]);
    expect(ws.resources(statePath("check")).some((x) => x.urn.endsWith("::invalid"))).toBe(false);
  });

  it("an exception in the program fails the run", async () => {
    const r = await ws.run({
      verb: "up",
      programDir,
      statePath: statePath("throw"),
      config: { scenario: "throw" },
    });
    expect(r.exitCode, r.log).toBe(1);
    expect(r.errors.join("\n")).toContain("the program gave up on purpose");
  });

  it("retainOnDelete: a resource removed from the program leaves state without a provider Delete", async () => {
    const sp = statePath("options");
    const first = await ws.run({ verb: "up", programDir, statePath: sp, config: { scenario: "options" } });
    expect(first.exitCode, first.log).toBe(0);
    const kept = ws.resource("::kept", sp);
    const mark = ws.mark();
    const r = await ws.run({ verb: "up", programDir, statePath: sp, config: { removeKept: "true" } });
    expect(r.exitCode, r.log).toBe(0);
    expect(r.steps).toContainEqual(expect.objectContaining({ name: "kept", op: "delete" }));
    expect(crud(ws.since(mark))).toEqual([]);
    expect(ws.resources(sp).some((x) => x.urn.endsWith("::kept"))).toBe(false);
    expect(fs.existsSync(ws.remoteFile(kept.id!))).toBe(true);
  });

  it("protect: deleting a protected resource is refused with a clear error and it stays in state", async () => {
    const sp = statePath("options");
    const mark = ws.mark();
    const r = await ws.run({ verb: "up", programDir, statePath: sp, config: { removeGuarded: "true" } });
    expect(r.exitCode, r.log).toBe(1);
    expect(r.errors.join("\n")).toMatch(/guarded.*cannot be deleted\nbecause it is protected/s);
    expect(crud(ws.since(mark))).toEqual([]);
    expect(ws.resource("::guarded", sp).protect).toBe(true);
  });

  it("protect also refuses a replacement (which would delete the resource)", async () => {
    const sp = statePath("options");
    const before = ws.resource("::guarded", sp);
    const mark = ws.mark();
    const r = await ws.run({
      verb: "up",
      programDir,
      statePath: sp,
      config: { removeGuarded: "false", guardedKind: "k2" },
    });
    expect(r.exitCode, r.log).toBe(1);
    expect(r.errors.join("\n")).toMatch(
      /unable to replace resource .*guarded.*\nas it is currently marked for protection/s,
    );
    expect(crud(ws.since(mark))).toEqual([]);
    expect(ws.resource("::guarded", sp).id).toBe(before.id);
  });

  it("a failing Delete fails the run; the replaced resource stays pending-delete and is deleted next run", async () => {
    const sp = statePath("delete");
    const first = await ws.run({ verb: "up", programDir, statePath: sp, config: { scenario: "deleteFail" } });
    expect(first.exitCode, first.log).toBe(0);
    const oldX = ws.resource("::x", sp);

    const r = await ws.run({
      verb: "up",
      programDir,
      statePath: sp,
      config: { kind: "k2" },
      env: { HARNESS_FAIL_DELETE: "x" },
    });
    expect(r.exitCode, r.log).toBe(1);
    expect(r.errors.join("\n")).toContain("the remote API refused to delete x");
    const xs = ws.resources(sp).filter((x) => x.urn.endsWith("::x"));
    expect(xs).toHaveLength(2);
    expect(xs.find((x) => x.delete)?.id).toBe(oldX.id);
    const newX = xs.find((x) => !x.delete)!;
    expect(newX.id).not.toBe(oldX.id);

    const mark = ws.mark();
    const again = await ws.run({ verb: "up", programDir, statePath: sp });
    expect(again.exitCode, again.log).toBe(0);
    expect(crud(ws.since(mark))).toEqual(["delete:x"]);
    expect(ws.since(mark).find((e) => e.method === "delete")?.id).toBe(oldX.id);
    expect(again.steps).toContainEqual(expect.objectContaining({ name: "x", op: "delete" }));
    expect(
      ws
        .resources(sp)
        .filter((x) => x.urn.endsWith("::x"))
        .map((x) => x.id),
    ).toEqual([newX.id]);
  });
});

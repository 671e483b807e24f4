// Replacement order: delete-before-replace from the provider's diff or from the resource option (the option
// wins either way), and ignoreChanges.

import { afterAll, describe, expect, it } from "vitest";

import { Workspace, crud, fixture } from "./helpers";

const ws = new Workspace("replace");
const programDir = fixture("replace");

afterAll(() => ws.cleanup());

describe("engine harness: replacements", () => {
  it("creates the resources", async () => {
    const r = await ws.run({ verb: "up", programDir });
    expect(r.exitCode, r.log).toBe(0);
    expect(crud(ws.journal()).sort()).toEqual(["create:dep", "create:ig", "create:r"]);
  });

  it("diff deleteBeforeReplace: the old resource is deleted before the new one is created", async () => {
    const oldR = ws.resource("::r");
    const mark = ws.mark();
    const r = await ws.run({ verb: "up", programDir, config: { kind: "k2", igValue: "ig2" } });
    expect(r.exitCode, r.log).toBe(0);
    expect(r.steps.find((s) => s.name === "r")).toMatchObject({ op: "replace", replaces: ["kind"] });
    const j = ws.since(mark);
    expect(crud(j)).toEqual(["delete:r", "create:r", "update:dep"]);
    expect(j.find((e) => e.method === "delete")?.id).toBe(oldR.id);
    const newR = ws.resource("::r");
    expect(newR.id).not.toBe(oldR.id);
    expect(ws.resource("::dep").inputs?.ref).toBe(newR.outputs?.generated);
    expect(ws.resources().filter((x) => x.urn.endsWith("::r"))).toHaveLength(1);
  });

  it("ignoreChanges: the changed input is not an update and the old value is kept", async () => {
    // (checked on the run above, which also changed `igValue`)
    const ig = ws.resource("::ig");
    expect(ig.inputs?.value).toBe("ig1");
    expect(ig.ignoreChanges).toEqual(["value"]);
    const j = ws.journal();
    const lastCheck = [...j].reverse().find((e) => e.method === "check" && e.label === "ig");
    expect(lastCheck?.news?.value).toBe("ig1");
    expect(crud(j)).not.toContain("update:ig");
  });

  it("resource option deleteBeforeReplace: true wins over a diff that does not ask for it", async () => {
    const mark = ws.mark();
    const r = await ws.run({ verb: "up", programDir, config: { kind: "k3", mode: "option" } });
    expect(r.exitCode, r.log).toBe(0);
    const j = ws.since(mark);
    expect(j.find((e) => e.method === "diff" && e.label === "r")).toBeDefined();
    expect(crud(j)).toEqual(["delete:r", "create:r", "update:dep"]);
  });

  it("resource option deleteBeforeReplace: false wins over a diff that asks for it (create-before-delete)", async () => {
    const mark = ws.mark();
    const r = await ws.run({ verb: "up", programDir, config: { kind: "k4", mode: "optionFalse" } });
    expect(r.exitCode, r.log).toBe(0);
    expect(crud(ws.since(mark))).toEqual(["create:r", "update:dep", "delete:r"]);
  });
});

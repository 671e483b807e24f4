// One stack taken through its life: create, no-op, update, replace, preview, removal, drift, refresh, destroy.
// The tests run in order and share the state file (each `it` is one harness run plus its assertions).

import * as fs from "fs";
import { afterAll, describe, expect, it } from "vitest";

import { RunResult } from "../../harness/engine";
import { readState } from "../../harness/state";
import { STACK_URN, THING, Workspace, crud, fixture, indexOf, methods, thingUrn } from "./helpers";

const ws = new Workspace("lifecycle");
const programDir = fixture("lifecycle");
const A = thingUrn("a");
const B = thingUrn("b");
const PROVIDER = "urn:pulumi:dev::fixture::pulumi:providers:pulumi-nodejs::default";
const CHILD = `urn:pulumi:dev::fixture::fixture:index:Group$${THING}::child`;
const GROUP = "urn:pulumi:dev::fixture::fixture:index:Group::group";
const C = "urn:pulumi:dev::fixture::pulumi-nodejs:dynamic/fixture:Plain::c";

const j0 = (w: Workspace, method: string, label: string) =>
  [...w.journal()].reverse().find((e) => e.method === method && e.label === label);
const ops = (r: RunResult) => Object.fromEntries(r.steps.map((s) => [s.name, s.op]));

afterAll(() => ws.cleanup());

describe("engine harness: a stack's lifecycle", () => {
  it("up: Check then Create for each new resource, dependencies first; URNs and state like Pulumi's", async () => {
    const r = await ws.run({ verb: "up", programDir });
    expect(r.exitCode, r.log).toBe(0);
    expect(r.errors).toEqual([]);
    expect(r.changes).toEqual({ create: 6, update: 0, replace: 0, delete: 0, same: 0 });
    expect(ops(r)).toEqual({
      "fixture-dev": "create",
      group: "create",
      a: "create",
      b: "create",
      c: "create",
      child: "create",
    });

    const state = readState(ws.statePath);
    expect(state.version).toBe(3);
    expect(state.deployment.secrets_providers?.type).toBe("passphrase");
    const urns = state.deployment.resources.map((x) => x.urn);
    expect(urns[0]).toBe(STACK_URN);
    expect(urns).toEqual(expect.arrayContaining([STACK_URN, PROVIDER, A, B, C, GROUP, CHILD]));
    expect(urns.indexOf(A)).toBeLessThan(urns.indexOf(B)); // topological order
    expect(urns.indexOf(GROUP)).toBeLessThan(urns.indexOf(CHILD));

    const provider = ws.resource("::default");
    expect(provider.type).toBe("pulumi:providers:pulumi-nodejs");
    expect(provider.id).toMatch(/^[0-9a-f-]{36}$/);
    const b = ws.resource("::b");
    expect(b.custom).toBe(true);
    expect(b.type).toBe(THING);
    expect(b.parent).toBe(STACK_URN);
    expect(b.provider).toBe(`${PROVIDER}::${provider.id}`);
    expect(b.dependencies).toEqual([A]);
    expect(b.propertyDependencies).toEqual({ ref: [A] });
    expect(typeof b.inputs?.__provider).toBe("string");
    expect(b.outputs?.__provider).toBe(b.inputs?.__provider);
    expect(b.created).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(ws.resource("::child").parent).toBe(GROUP);
    expect(ws.resource("::group").custom).toBe(false);

    const j = ws.journal();
    // Configure ran before any other call, once per distinct provider (Thing and Plain).
    expect(j[0].method).toBe("configure");
    expect(j.filter((e) => e.method === "configure")).toHaveLength(2);
    // Check saw no old inputs for new resources; b's Create began after a's ended (b needs a's output).
    expect(j.find((e) => e.method === "check" && e.label === "a")?.olds).toEqual({});
    const aEnd = indexOf(j, (e) => e.method === "create" && e.label === "a" && e.phase === "end");
    const bBegin = indexOf(j, (e) => e.method === "create" && e.label === "b" && e.phase === "begin");
    expect(aEnd).toBeGreaterThanOrEqual(0);
    expect(bBegin).toBeGreaterThan(aEnd);
    expect(crud(j).sort()).toEqual(["create:a", "create:b", "create:c", "create:child"]);

    expect(r.outputs.bRef).toBe(r.outputs.aGenerated);
    expect(r.outputs.aId).toBe(ws.resource("::a").id);
    expect(r.log).toContain(" +  create   pulumi-nodejs:dynamic/fixture:Thing  a");
  });

  it("up again with no changes: only Check and Diff, everything same", async () => {
    const before = ws.resource("::a");
    const mark = ws.mark();
    const r = await ws.run({ verb: "up", programDir });
    expect(r.exitCode, r.log).toBe(0);
    expect(r.changes).toEqual({ create: 0, update: 0, replace: 0, delete: 0, same: 6 });
    const j = ws.since(mark);
    expect(methods(j)).toEqual(["check", "configure", "diff"]);
    // Check gets the old inputs; Diff the old outputs (with the provider-computed `generated`).
    const checkA = j.find((e) => e.method === "check" && e.label === "a");
    expect(checkA?.olds).toEqual({ kind: "k1", label: "a", value: "v1" });
    const diffA = j.find((e) => e.method === "diff" && e.label === "a");
    expect(diffA?.olds?.generated).toBe(before.outputs?.generated);
    expect(diffA?.id).toBe(before.id);
    expect(ws.resource("::a").id).toBe(before.id);
    expect(r.log).not.toContain(" =  same");
  });

  it("an input change updates in place (Update gets the old outputs); without diff() inputs are compared", async () => {
    const before = ws.resource("::a");
    const mark = ws.mark();
    const r = await ws.run({ verb: "up", programDir, config: { aValue: "v2", cValue: "c2" } });
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toMatchObject({ a: "update", b: "same", c: "update", child: "same" });
    expect(r.steps.find((s) => s.name === "a")?.diffs).toEqual(["value"]);
    expect(r.changes).toMatchObject({ update: 2, same: 4 });
    const j = ws.since(mark);
    expect(crud(j)).toEqual(expect.arrayContaining(["update:a", "update:c"]));
    expect(crud(j)).toHaveLength(2);
    const upd = j.find((e) => e.method === "update" && e.label === "a");
    expect(upd?.id).toBe(before.id);
    expect(upd?.olds?.generated).toBe(before.outputs?.generated);
    expect(upd?.olds?.value).toBe("v1");
    expect(upd?.news?.value).toBe("v2");
    const after = ws.resource("::a");
    expect(after.id).toBe(before.id);
    expect(after.outputs?.value).toBe("v2");
    expect(after.modified).not.toBe(before.modified);
    // the config given with --config is persisted for later runs
    expect(readState(ws.statePath).config).toMatchObject({ "fixture:aValue": "v2", "fixture:cValue": "c2" });
  });

  it("a replacement is create-before-delete: new first, dependents updated with its outputs, old deleted last", async () => {
    const oldA = ws.resource("::a");
    const mark = ws.mark();
    const r = await ws.run({ verb: "up", programDir, config: { aKind: "k2" } });
    expect(r.exitCode, r.log).toBe(0);
    const stepA = r.steps.find((s) => s.name === "a");
    expect(stepA).toMatchObject({ op: "replace", replaces: ["kind"] });
    expect(ops(r)).toMatchObject({ b: "update" });
    expect(r.changes).toMatchObject({ replace: 1, update: 1, delete: 0 });

    const j = ws.since(mark);
    expect(crud(j)).toEqual(["create:a", "update:b", "delete:a"]);
    const created = j.find((e) => e.method === "create" && e.phase === "begin");
    const deleted = j.find((e) => e.method === "delete" && e.phase === "begin");
    expect(created?.id).not.toBe(oldA.id);
    expect(deleted?.id).toBe(oldA.id);
    // The engine re-checks a replacement without the old inputs.
    expect(j.filter((e) => e.method === "check" && e.label === "a").map((e) => e.olds)).toEqual([
      { kind: "k1", label: "a", value: "v2" },
      {},
    ]);
    const newA = ws.resource("::a");
    expect(newA.id).toBe(created?.id);
    expect(ws.resource("::b").inputs?.ref).toBe(newA.outputs?.generated);
    expect(r.outputs.bRef).toBe(newA.outputs?.generated);
    expect(ws.resources().filter((x) => x.urn === A)).toHaveLength(1);
    expect(fs.existsSync(ws.remoteFile(oldA.id!))).toBe(false);
  });

  it("preview: Check and Diff with unknowns, no Create/Update/Delete, state file untouched", async () => {
    const bytes = fs.readFileSync(ws.statePath);
    const mark = ws.mark();
    const r = await ws.run({ verb: "preview", programDir, config: { aValue: "v3", withNew: "true" } });
    expect(r.exitCode, r.log).toBe(0);
    // b's input is a's `generated`: a preview Update returns the inputs as outputs, so it is unknown here
    // (what the engine does for providers that do not support previews).
    expect(ops(r)).toMatchObject({ a: "update", b: "update", d: "create", e: "create" });
    expect(r.changes).toMatchObject({ create: 2, update: 2 });
    expect(j0(ws, "check", "b")?.unknowns).toEqual(["ref"]);
    const j = ws.since(mark);
    expect(crud(j)).toEqual([]);
    expect(methods(j)).toEqual(["check", "configure", "diff"]);
    // d's input is e's output, which does not exist yet: Check sees Pulumi's unknown sentinel.
    expect(j.find((e) => e.method === "check" && e.label === "d")?.unknowns).toEqual(["ref"]);
    expect(fs.readFileSync(ws.statePath).equals(bytes)).toBe(true);
    expect(r.log).toContain("Previewing update (dev):");
  });

  it("a resource no longer in the program is deleted with its stored inputs and outputs", async () => {
    const oldC = ws.resource("::c");
    const mark = ws.mark();
    const r = await ws.run({ verb: "up", programDir, config: { includeC: "false" } });
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toMatchObject({ c: "delete" });
    expect(r.changes).toMatchObject({ delete: 1, same: 5 });
    const j = ws.since(mark);
    expect(crud(j)).toEqual(["delete:c"]);
    const del = j.find((e) => e.method === "delete");
    expect(del?.id).toBe(oldC.id);
    expect(del?.props?.generated).toBe(oldC.outputs?.generated);
    expect(ws.resources().some((x) => x.urn === C)).toBe(false);
  });

  it("preview --refresh --expect-no-changes finds drift: exit 2, state untouched", async () => {
    const a = ws.resource("::a");
    const remote = JSON.parse(fs.readFileSync(ws.remoteFile(a.id!), "utf8")) as Record<string, unknown>;
    fs.writeFileSync(ws.remoteFile(a.id!), JSON.stringify({ ...remote, value: "drifted" }));
    const bytes = fs.readFileSync(ws.statePath);
    const r = await ws.run({ verb: "preview", programDir, refresh: true, expectNoChanges: true });
    expect(r.exitCode, r.log).toBe(2);
    expect(r.errors).toEqual([]);
    expect(r.steps).toContainEqual(expect.objectContaining({ name: "a", op: "read", diffs: ["value"] }));
    expect(r.steps).toContainEqual(expect.objectContaining({ name: "a", op: "update" }));
    expect(fs.readFileSync(ws.statePath).equals(bytes)).toBe(true);
  });

  it("refresh: Read with the stored provider replaces the outputs", async () => {
    const before = ws.resource("::a");
    const mark = ws.mark();
    const r = await ws.run({ verb: "refresh", programDir });
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ a: "read", b: "same", child: "same" });
    expect(methods(ws.since(mark))).toEqual(["configure", "read"]);
    const after = ws.resource("::a");
    expect(after.outputs?.value).toBe("drifted");
    expect(after.inputs?.value).toBe("v2"); // read() returned no inputs: they stay
    expect(after.outputs?.__provider).toBe(before.outputs?.__provider);
    expect(r.log).toContain(" ~  refresh");
  });

  it("refresh drops a resource whose Read returns an empty id", async () => {
    const b = ws.resource("::b");
    fs.rmSync(ws.remoteFile(b.id!));
    const r = await ws.run({ verb: "refresh", programDir });
    expect(r.exitCode, r.log).toBe(0);
    expect(r.steps).toContainEqual(expect.objectContaining({ name: "b", op: "read", diffs: ["<deleted>"] }));
    expect(ws.resources().some((x) => x.urn === B)).toBe(false);
  });

  it("up re-creates the dropped resource and repairs the drift; then preview --expect-no-changes exits 0", async () => {
    const mark = ws.mark();
    const r = await ws.run({ verb: "up", programDir });
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toMatchObject({ a: "update", b: "create", child: "same" });
    expect(crud(ws.since(mark)).sort()).toEqual(["create:b", "update:a"]);
    expect(ws.resource("::a").outputs?.value).toBe("v2");

    const clean = await ws.run({ verb: "preview", programDir, refresh: true, expectNoChanges: true });
    expect(clean.exitCode, clean.log).toBe(0);
    expect(clean.changes).toEqual({ create: 0, update: 0, replace: 0, delete: 0, same: 5 });
  });

  it("destroy deletes everything in reverse dependency order", async () => {
    const mark = ws.mark();
    const r = await ws.run({ verb: "destroy", programDir });
    expect(r.exitCode, r.log).toBe(0);
    expect(r.changes).toEqual({ create: 0, update: 0, replace: 0, delete: 5, same: 0 });
    const order = r.steps.map((s) => s.name);
    expect(order.indexOf("b")).toBeLessThan(order.indexOf("a"));
    expect(order.indexOf("child")).toBeLessThan(order.indexOf("group"));
    expect(order[order.length - 1]).toBe("fixture-dev");
    const deletes = crud(ws.since(mark));
    expect([...deletes].sort()).toEqual(["delete:a", "delete:b", "delete:child"]);
    expect(deletes.indexOf("delete:b")).toBeLessThan(deletes.indexOf("delete:a"));
    const j = ws.since(mark);
    const bEnd = indexOf(j, (e) => e.method === "delete" && e.label === "b" && e.phase === "end");
    const aBegin = indexOf(j, (e) => e.method === "delete" && e.label === "a" && e.phase === "begin");
    expect(aBegin).toBeGreaterThan(bEnd);
    expect(readState(ws.statePath).deployment.resources).toEqual([]);
    expect(fs.readdirSync(`${ws.dir}/remote`)).toEqual([]);
    expect(r.outputs).toEqual({});
  });
});

// DYPAI BackendSecret end to end on the real Pulumi CLI, against the emulator's DYPAI API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import {
  Stack,
  admin,
  adminCall,
  closeAndAudit,
  checkFailure,
  droppedByRefresh,
  emulator,
  ops,
  program,
  refreshOf,
  requests,
  resetRequests,
} from "../support";

let emu: Emulator;
let stack: Stack;
let engine: string;

const v1 = ["whsec", "first", "b7e1c0"].join("_");
const v2 = ["whsec", "second", "4a9d22"].join("_");
const v3 = ["whsec", "third", "e05f71"].join("_");
const allSecrets = () => [v1, v2, v3, emu.dypai.token];

type Stored = Record<string, { value: string; version: number }>;
const stored = async (id = engine) =>
  (await admin<{ secrets: Stored }>(emu, `dypai/engines/${id}/secrets`)).secrets;
const adminDelete = async (route: string) => {
  const res = await fetch(`${emu.baseUrl}/_admin/${route}`, { method: "DELETE" });
  if (!res.ok) throw new Error(`DELETE ${route}: ${res.status}`);
};

const PUT = "PUT /dypai/api/engine/:id/secrets/:name";
const GET = "GET /dypai/api/engine/:id/secrets/:name";
const DELETE = "DELETE /dypai/api/engine/:id/secrets/:name";

// Stack config persists between runs, so every run passes the whole declaration ("" = no second secret).
let declared = { engineId: "", name: "", value: "", secondName: "", secondValue: "" };
const declare = (d: Partial<typeof declared>) => (declared = { ...declared, ...d });
const run = (
  verb: "up" | "preview" | "refresh" | "destroy",
  opts: { refresh?: boolean; expectNoChanges?: boolean } = {},
) =>
  stack.run(verb, {
    ...opts,
    config: { engineId: declared.engineId, name: declared.name, secondName: declared.secondName },
    secrets: { value: declared.value, secondValue: declared.secondValue || "unused" },
  });

beforeAll(async () => {
  emu = await emulator();
  engine = emu.dypai.engineId;
  stack = new Stack(program("dypai"), {
    config: { "dypai:baseUrl": emu.dypai.baseUrl },
    secrets: { "dypai:token": emu.dypai.token },
  });
  declare({ engineId: engine, name: "SIGNING_KEY", value: v1 });
});
// The suite's secret-leak audit (test/support/leaks.ts) runs after the emulator closes: the figure is zero.
afterAll(() => closeAndAudit(emu, "dypai"));

describe("BackendSecret on the real engine", () => {
  it("creates the secret with one PUT; the value is encrypted on the platform and secret in state", async () => {
    await resetRequests(emu);
    const r = await run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ create: 1 });
    expect((await requests(emu)).routes).toEqual({ [PUT]: 1 });
    expect(r.outputs.id).toBe(`${engine}/SIGNING_KEY`);
    expect((await stored()).SIGNING_KEY).toMatchObject({ value: v1, version: r.outputs.version });
    expect(await stack.leaks(allSecrets())).toEqual([]);
    const res = (await stack.resources()).find((x) => x.type === "pulumi-nodejs:dynamic/dypai:BackendSecret");
    expect(res?.outputs?.value).toBe(v1);
    for (const text of await stack.providerTexts())
      expect(text).toContain('require("pulumi-dynamiq/provider")');
  });

  it("makes no API call on a no-op up", async () => {
    await resetRequests(emu);
    const r = await run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ same: 1 });
    expect((await requests(emu)).total).toBe(0);
  });

  it("a new value overwrites in place: one PUT, no replace, no delete", async () => {
    declare({ value: v2 });
    await resetRequests(emu);
    const r = await run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ update: 1 });
    expect((await requests(emu)).routes).toEqual({ [PUT]: 1 });
    expect((await stored()).SIGNING_KEY.value).toBe(v2);
    expect(await stack.leaks(allSecrets())).toEqual([]);
  });

  it("finds an overwrite out of band by its version (CI drift check fails) and writes the value again", async () => {
    await admin(emu, `dypai/engines/${engine}/secrets/SIGNING_KEY`, { value: "set-by-hand" });
    const check = await run("preview", { refresh: true, expectNoChanges: true });
    expect(check.exitCode, check.log).toBe(7);
    expect(ops(check)).toEqual({ refresh: 1, update: 1 });
    expect(refreshOf(check, "first")?.diffs).toEqual(["platformVersion"]);
    expect(check.log).not.toContain("set-by-hand");
    const fix = await run("up", { refresh: true });
    expect(fix.exitCode, fix.log).toBe(0);
    expect((await stored()).SIGNING_KEY.value).toBe(v2);
    const clean = await run("preview", { refresh: true, expectNoChanges: true });
    expect(clean.exitCode, clean.log).toBe(0);
  });

  it("a secret deleted out of band leaves state on refresh (a 404) and comes back on up", async () => {
    await adminDelete(`dypai/engines/${engine}/secrets/SIGNING_KEY`);
    const r = await run("up", { refresh: true });
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ refresh: 1, create: 1 });
    expect(droppedByRefresh(r, "first")).toBe(true);
    expect((await stored()).SIGNING_KEY.value).toBe(v2);
  });

  it("keeps state when the token is refused (401 is not 'gone')", async () => {
    // `pulumi refresh` configures the provider from state, so the platform itself refuses the token here.
    await admin(emu, "faults", { route: GET, kind: "status", status: 401 });
    const r = await run("refresh");
    await adminCall(emu, "DELETE", "faults");
    expect(r.exitCode).not.toBe(0);
    expect(r.log).toMatch(/401/);
    expect((await stack.resources()).some((x) => x.id === `${engine}/SIGNING_KEY`)).toBe(true);
  });

  it("a rename replaces create-before-delete: the new name is written, the old one (still ours) deleted", async () => {
    declare({ name: "SIGNING_KEY_V2" });
    await resetRequests(emu);
    const r = await run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ replace: 1 });
    expect((await requests(emu)).routes).toEqual({ [PUT]: 1, [GET]: 1, [DELETE]: 1 });
    expect(Object.keys(await stored())).toEqual(["SIGNING_KEY_V2"]);
    expect((await stored()).SIGNING_KEY_V2.value).toBe(v2);
  });

  it("the name-keyed replace trap: two secrets swap names in one up and both values survive", async () => {
    declare({ secondName: "OTHER", secondValue: v3 });
    expect((await run("up")).exitCode).toBe(0);
    // first: SIGNING_KEY_V2 -> OTHER, second: OTHER -> SIGNING_KEY_V2. Each create overwrites the name the other
    // held; each delete half then finds a newer version than its own and leaves the secret alone.
    declare({ name: "OTHER", secondName: "SIGNING_KEY_V2" });
    await resetRequests(emu);
    const r = await run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ replace: 2 });
    const { routes } = await requests(emu);
    expect(routes[PUT]).toBe(2);
    expect(routes[DELETE]).toBeUndefined();
    const s = await stored();
    expect(Object.keys(s).sort()).toEqual(["OTHER", "SIGNING_KEY_V2"]);
    expect(s.OTHER.value).toBe(v2);
    expect(s.SIGNING_KEY_V2.value).toBe(v3);
    const clean = await run("preview", { refresh: true, expectNoChanges: true });
    expect(clean.exitCode, clean.log).toBe(0);
  });

  it("a move to another engine (another project key) replaces; the old engine loses only our secrets", async () => {
    const other = (await admin<{ id: string }>(emu, "dypai/engines", { name: "prod", newProject: true })).id;
    await admin(emu, `dypai/engines/${engine}/secrets/UNMANAGED`, { value: "not-ours" });
    declare({ engineId: other });
    const r = await run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ replace: 2 });
    expect(await stored(other)).toMatchObject({ OTHER: { value: v2 }, SIGNING_KEY_V2: { value: v3 } });
    expect(Object.keys(await stored(engine))).toEqual(["UNMANAGED"]);
    engine = other;
  });

  it("rejects bad input at check, naming the property and the rule, with no API call", async () => {
    await resetRequests(emu);
    const r = await stack.run("up", {
      config: { engineId: engine, name: "stripe-key", secondName: declared.secondName },
      secrets: { value: "", secondValue: declared.secondValue },
    });
    expect(r.exitCode).not.toBe(0);
    expect(r.log).toMatch(checkFailure("name", "must be a secret name usable as ${ secrets.NAME }"));
    // The engine quotes the value of a failing property, but redacts a secret one.
    expect(r.log).toMatch(checkFailure("value", "must not be empty"));
    expect(r.log).toContain("property value value {[secret]} has a problem");
    expect((await requests(emu)).total).toBe(0);
  });

  it("destroy deletes what is still ours and never a value written since by someone else", async () => {
    await admin(emu, `dypai/engines/${engine}/secrets/SIGNING_KEY_V2`, { value: "rotated-by-hand" });
    const r = await run("destroy");
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ delete: 2 });
    const s = await stored();
    expect(Object.keys(s)).toEqual(["SIGNING_KEY_V2"]);
    expect(s.SIGNING_KEY_V2.value).toBe("rotated-by-hand");
    expect(await stack.leaks(allSecrets())).toEqual([]);
  });
});

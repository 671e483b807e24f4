// The dynamic-provider front-end (provider/dynamic.ts): the host's own properties never reach a definition, and a
// lookup of an id that does not exist is an error while a managed object found gone is dropped.
import { afterEach, describe, expect, it, vi } from "vitest";
import { configure, dynamicProvider } from "../../provider/dynamic";
import type { ResourceContext } from "../../provider/resource";
import { resetConfiguration } from "../../provider/settings";
import { LOOKUP_KEY } from "../../provider/lookup";
import { DEFINITIONS } from "../../provider/registry";

const HOST = { __provider: "exports.handler = ...", [LOOKUP_KEY]: true };

afterEach(() => {
  vi.restoreAllMocks();
  resetConfiguration();
});

describe("dynamic provider front-end", () => {
  it.each(Object.keys(DEFINITIONS))(
    "%s: no definition method is handed __provider or the lookup marker",
    async (kind) => {
      const def = DEFINITIONS[kind];
      const seen: Record<string, unknown>[] = [];
      const record = (...props: unknown[]) => {
        for (const p of props) if (p && typeof p === "object") seen.push(p as Record<string, unknown>);
      };
      vi.spyOn(def, "check").mockImplementation(
        (olds, news) => (record(olds, news), { inputs: {}, failures: [] }),
      );
      vi.spyOn(def, "diff").mockImplementation(
        (_id, olds, news) => (record(olds, news), { changes: false, replaces: [], diffs: [] }),
      );
      vi.spyOn(def, "create").mockImplementation(
        async (_ctx, inputs) => (record(inputs), { id: "i", outs: {} }),
      );
      vi.spyOn(def, "read").mockImplementation(async (_ctx, id, props) => (record(props), { id, props: {} }));
      vi.spyOn(def, "update").mockImplementation(async (_ctx, _id, olds, news) => (record(olds, news), {}));
      vi.spyOn(def, "delete").mockImplementation(async (_ctx, _id, props) => void record(props));
      const p = dynamicProvider(kind);
      const props = { ...HOST, name: "n" };
      await p.check!(props, props);
      await p.diff!("i", props, props);
      await p.create(props);
      await p.read!("i", props);
      await p.update!("i", props, props);
      await p.delete!("i", props);
      expect(seen).toHaveLength(9);
      for (const s of seen) expect(Object.keys(s)).toEqual(["name"]);
    },
  );

  it("a read that finds the object gone drops a managed one, and fails a lookup naming the kind and the id", async () => {
    vi.spyOn(DEFINITIONS.AccessKey, "read").mockResolvedValue(null);
    const p = dynamicProvider("AccessKey");
    expect(await p.read!("k-1", { __provider: "x", name: "n" })).toEqual({ id: "", props: {} });
    await expect(p.read!("k-1", { __provider: "x", [LOOKUP_KEY]: true })).rejects.toThrow(
      "dynamiq: AccessKey k-1 does not exist (looked up with AccessKey.get)",
    );
  });

  it("builds each client once per configuration of the host, and again after a new one", async () => {
    const seen: Array<{ client: unknown; token: string }> = [];
    vi.spyOn(DEFINITIONS.Connection, "create").mockImplementation(async (ctx: ResourceContext) => {
      seen.push({ client: ctx.dynamiq(), token: ctx.dynamiqCredential().value });
      return { id: "i", outs: {} };
    });
    const config = (token: string) => ({
      get: (k: string) => ({ "dynamiq:token": token, "dynamiq:baseUrl": "http://127.0.0.1:9" })[k],
    });
    // The engine watch is the host's; with no engine address it does nothing.
    configure(config("dyn_pat_first"));
    const p = dynamicProvider("Connection");
    await p.create({ name: "a" });
    await p.create({ name: "b" });
    configure(config("dyn_pat_second"));
    await p.create({ name: "c" });
    expect(seen[1].client).toBe(seen[0].client);
    expect(seen[2].client).not.toBe(seen[0].client);
    expect(seen.map((s) => s.token)).toEqual(["dyn_pat_first", "dyn_pat_first", "dyn_pat_second"]);
  });
});

import { describe, expect, it } from "vitest";
import { connection } from "../../provider/resources/connection";
import { knownConnectionTypes, secretFields } from "../../provider/resources/connection-types";
import { UNKNOWN } from "../../provider/resource";

const projectId = "3f0b8c2e-8a1d-4c5e-9b7a-2d4e6f8a0b1c";
const base = {
  projectId,
  name: "openai-prod",
  type: "dynamiq.connections.OpenAI",
  config: { api_key: "sk-1" },
};
const check = (news: Record<string, unknown>) => connection.check({}, news);

describe("Connection check", () => {
  it("accepts valid inputs", () => {
    const r = check(base);
    expect(r.failures).toEqual([]);
    expect(r.inputs).toEqual(base);
  });

  it("names the property path and the rule for config errors", () => {
    expect(check({ ...base, config: {} }).failures).toEqual([
      { property: "config.api_key", reason: "is required" },
    ]);
    expect(check({ ...base, config: { api_key: "k", api_base: "x" } }).failures).toEqual([
      {
        property: "config.api_base",
        reason: "is not a field of dynamiq.connections.OpenAI; the platform would drop it silently",
      },
    ]);
    expect(
      check({ ...base, type: "dynamiq.connections.PostgreSQL", config: { host: "db", port: "5432" } })
        .failures,
    ).toEqual([{ property: "config.port", reason: "must be an integer, got string" }]);
    expect(
      check({ ...base, type: "dynamiq.connections.Http", config: { method: "FETCH" } }).failures,
    ).toEqual([
      { property: "config.method", reason: 'must be one of "GET", "POST", "PUT", "DELETE", "PATCH"' },
    ]);
  });

  it("applies the cross-field rules of the SDK", () => {
    const steel = { ...base, type: "dynamiq.connections.SteelBrowser" };
    expect(check({ ...steel, config: { model_api_key: "m" } }).failures).toEqual([
      { property: "config.api_key", reason: "required when environment is CLOUD" },
    ]);
    expect(
      check({ ...steel, config: { model_api_key: "m", environment: "SELF_HOSTED", base_url: "http://x" } })
        .failures,
    ).toEqual([]);
    expect(
      check({
        ...base,
        type: "dynamiq.connections.Milvus",
        config: { deployment_type: "file", uri: "x.sqlite" },
      }).failures[0].property,
    ).toBe("config.uri");
  });

  it("rejects bad top-level inputs with the rule", () => {
    const f = check({ ...base, projectId: "proj-1", name: " x", type: "OpenAI", extra: 1 }).failures;
    expect(f).toEqual(
      expect.arrayContaining([
        { property: "projectId", reason: "must be a project id (a UUID)" },
        { property: "name", reason: "must not start or end with white space" },
        { property: "type", reason: "must be a connection class such as dynamiq.connections.OpenAI" },
        { property: "extra", reason: "unknown property" },
      ]),
    );
    expect(check({ ...base, config: ["a"] }).failures[0]).toEqual({
      property: "config",
      reason: "must be a record, got an array",
    });
    expect(
      check({ projectId })
        .failures.map((x) => x.property)
        .sort(),
    ).toEqual(["config", "name", "type"]);
  });

  it("lets uncatalogued types through with their config unchecked", () => {
    expect(
      check({ ...base, type: "dynamiq.connections.Cloudflare", config: { anything: 1 } }).failures,
    ).toEqual([]);
  });

  it("tolerates unknowns during preview", () => {
    expect(check({ ...base, projectId: UNKNOWN, config: { api_key: UNKNOWN } }).failures).toEqual([]);
    expect(check({ ...base, config: UNKNOWN }).failures).toEqual([]);
    expect(
      check({ ...base, type: "dynamiq.connections.PostgreSQL", config: { port: UNKNOWN } }).failures,
    ).toEqual([]);
  });

  it("knows every catalogued type and its secret fields", () => {
    expect(knownConnectionTypes().length).toBeGreaterThanOrEqual(69 + 7);
    expect(secretFields("dynamiq.connections.PostgreSQL")).toEqual(["password"]);
    for (const t of knownConnectionTypes())
      expect(() => check({ ...base, type: t, config: {} })).not.toThrow();
  });
});

describe("Connection diff", () => {
  const olds = { ...base, status: "active" };
  it("reports no change when equal, whatever the key order", () => {
    expect(connection.diff("id", { ...olds, config: { api_key: "sk-1" } }, { ...base })).toEqual({
      changes: false,
      replaces: [],
      diffs: [],
    });
  });
  it("updates type and config in place", () => {
    expect(connection.diff("id", olds, { ...base, config: { api_key: "sk-2" } })).toEqual({
      changes: true,
      replaces: [],
      diffs: ["config"],
    });
    expect(connection.diff("id", olds, { ...base, type: "dynamiq.connections.Anthropic" }).replaces).toEqual(
      [],
    );
  });
  it("replaces on a new name or project", () => {
    expect(connection.diff("id", olds, { ...base, name: "other" }).replaces).toEqual(["name"]);
    expect(connection.diff("id", olds, { ...base, projectId: UNKNOWN }).replaces).toEqual(["projectId"]);
  });
});

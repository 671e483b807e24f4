// The error hierarchy (provider/errors.ts): every code the module declares has its row in docs/errors.md, every
// class carries its own `name`, and `instanceof` holds for every class across two copies of the module, as when a
// program and Pulumi's provider host load the package from two places. The copies are the built CommonJS
// (dist/provider/errors.js, loaded twice with the require cache cleared in between) and the sources vitest loads.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import * as source from "../../provider/errors";
import { ROOT } from "../support";

type Errors = typeof source;

const DOC = path.join(ROOT, "docs", "errors.md");
const DIST = path.join(ROOT, "dist", "provider", "errors.js");

function loadDistCopy(): Errors {
  const load = createRequire(DIST);
  delete load.cache[DIST];
  const copy = load(DIST) as Errors;
  delete load.cache[DIST];
  if (!("ERROR_CODES" in copy))
    throw new Error(`${DIST} is older than provider/errors.ts: run npm run build`);
  return copy;
}

const COPIES: Record<string, Errors> = {
  source,
  "dist copy 1": loadDistCopy(),
  "dist copy 2": loadDistCopy(),
};

/** The error classes a copy of the module exports, by export name. */
function classesOf(m: Errors): Map<string, typeof source.ProviderError> {
  const out = new Map<string, typeof source.ProviderError>();
  for (const [name, value] of Object.entries(m)) {
    if (typeof value !== "function") continue;
    if (value === m.ProviderError || value.prototype instanceof m.ProviderError) {
      out.set(name, value as typeof source.ProviderError);
    }
  }
  return out;
}

const CLASSES = [...classesOf(source).keys()];

const api = (status: number): source.ApiErrorInit => ({
  platform: "dynamiq",
  method: "GET",
  path: "/v1/connections/c1",
  status,
  requestId: "req-1",
});

/** One instance of each class, built from a given copy of the module. */
const MAKE: Record<string, (m: Errors) => Error> = {
  ProviderError: (m) => new m.ProviderError("invalid_input", "dynamiq: not a backend secret id"),
  ApiError: (m) => new m.ApiError("bad_request", api(405)),
  NotFoundError: (m) => new m.NotFoundError("not_found", api(404)),
  UnauthorizedError: (m) => new m.UnauthorizedError("unauthorized", api(401)),
  ForbiddenError: (m) => new m.ForbiddenError("forbidden", api(403)),
  ConflictError: (m) => new m.ConflictError("conflict", api(409)),
  RateLimitedError: (m) => new m.RateLimitedError("rate_limited", api(429)),
  ValidationError: (m) => new m.ValidationError("validation", api(422)),
  ServerError: (m) => new m.ServerError("server_error", api(500)),
  TransportError: (m) =>
    new m.TransportError("timeout", {
      platform: "flightcontrol",
      method: "GET",
      path: "/v1/x",
      reason: "late",
    }),
  ConfigurationError: (m) => new m.ConfigurationError("dynamiq: no token"),
  InputError: (m) => new m.InputError("AccessKey", [{ property: "name", reason: "must not be empty" }]),
  OperationError: (m) => new m.OperationError("dypai", "run failed", { run: "r1" }),
};

/** The codes in the table of docs/errors.md, from its first column. */
function documentedCodes(): { codes: string[]; classes: string } {
  const text = fs.readFileSync(DOC, "utf8");
  const start = text.indexOf("<!-- error-codes:start -->");
  const end = text.indexOf("<!-- error-codes:end -->");
  expect(start, "docs/errors.md has no <!-- error-codes:start --> marker").toBeGreaterThanOrEqual(0);
  expect(end, "docs/errors.md has no <!-- error-codes:end --> marker").toBeGreaterThan(start);
  const rows = text
    .slice(start, end)
    .split("\n")
    .filter((l) => l.startsWith("|"))
    .slice(2)
    .map((l) => l.split("|").map((c) => c.trim()));
  return {
    codes: rows.map((cells) => cells[1].replace(/^`|`$/g, "")),
    classes: rows.map((cells) => cells[2]).join("\n"),
  };
}

describe("error codes", () => {
  it("are read from the module", () => {
    expect(source.ERROR_CODES.length).toBeGreaterThan(0);
    expect(new Set(source.ERROR_CODES).size).toBe(source.ERROR_CODES.length);
  });

  it.each(source.ERROR_CODES)("%s has its row in docs/errors.md", (code) => {
    expect(documentedCodes().codes).toContain(code);
  });

  it("docs/errors.md documents no code the module does not have, and each once", () => {
    const { codes } = documentedCodes();
    expect(codes.filter((c) => !(source.ERROR_CODES as readonly string[]).includes(c))).toEqual([]);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it.each(CLASSES)("docs/errors.md names %s among the classes that throw", (name) => {
    expect(documentedCodes().classes).toContain(`\`${name}\``);
  });
});

describe("error classes", () => {
  it("each has an instance factory in this test", () => {
    expect(CLASSES.length).toBeGreaterThan(1);
    expect(Object.keys(MAKE).sort()).toEqual([...CLASSES].sort());
  });

  it.each(Object.keys(COPIES))("%s exports the same classes", (copy) => {
    expect([...classesOf(COPIES[copy]).keys()]).toEqual(CLASSES);
  });

  it.each(CLASSES)("%s carries its own name", (name) => {
    for (const m of Object.values(COPIES)) {
      const e = MAKE[name](m);
      expect(e.name).toBe(name);
      expect(String(e)).toMatch(new RegExp(`^${name}: `));
      expect(m.ProviderError.is(e)).toBe(true);
    }
  });

  it.each(CLASSES)("instanceof %s holds across copies of the module, both ways", (name) => {
    const mismatches: string[] = [];
    for (const [fromCopy, from] of Object.entries(COPIES)) {
      const e = MAKE[name](from);
      for (const [toCopy, to] of Object.entries(COPIES)) {
        for (const [other, cls] of classesOf(to)) {
          // What the ordinary prototype check answers inside the copy that built the error.
          const expected = Object.prototype.isPrototypeOf.call(classesOf(from).get(other)!.prototype, e);
          if (e instanceof cls !== expected) {
            mismatches.push(`${name} of ${fromCopy} instanceof ${other} of ${toCopy}: expected ${expected}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("apiErrorFor builds, for each status, the class whose name the error carries", () => {
    const cases: Array<[number, string, string]> = [
      [400, "ValidationError", "bad_request"],
      [401, "UnauthorizedError", "unauthorized"],
      [403, "ForbiddenError", "forbidden"],
      [404, "NotFoundError", "not_found"],
      [405, "ApiError", "bad_request"],
      [409, "ConflictError", "conflict"],
      [410, "NotFoundError", "not_found"],
      [422, "ValidationError", "validation"],
      [429, "RateLimitedError", "rate_limited"],
      [503, "ServerError", "server_error"],
    ];
    for (const [status, name, code] of cases) {
      const e = source.apiErrorFor(api(status));
      expect([status, e.name, e.code]).toEqual([status, name, code]);
      expect(e).toBeInstanceOf(COPIES["dist copy 1"][name as "ApiError"]);
    }
  });

  it("an error of an older copy, branded but without class names, is still a ProviderError", () => {
    const old = Object.assign(new Error("dynamiq: old"), {
      code: "network",
      [Symbol.for("pulumi-dynamiq.error")]: true,
    });
    expect(old instanceof source.ProviderError).toBe(true);
    expect(old instanceof source.TransportError).toBe(false);
  });

  it("a subclass written outside the module keeps the ordinary instanceof", () => {
    class Mine extends source.ConfigurationError {}
    expect(new Mine("x") instanceof Mine).toBe(true);
    expect(new source.ConfigurationError("x") instanceof Mine).toBe(false);
    expect(new Mine("x") instanceof COPIES["dist copy 1"].ConfigurationError).toBe(true);
  });
});

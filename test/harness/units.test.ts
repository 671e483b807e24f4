// Unit tests of the harness's pure parts: property helpers, secrets crypto, state ordering.

import { describe, expect, it } from "vitest";

import { sortTopologically } from "../../harness/engine";
import {
  PropertyMap,
  SECRET_SIG,
  SIG_KEY,
  UNKNOWN,
  annotateSecrets,
  applyAdditionalSecretOutputs,
  changedKeys,
  makeSecret,
  maskForDisplay,
  processIgnoreChanges,
  removeSecrets,
} from "../../harness/props";
import {
  StateResource,
  decryptValue,
  encryptValue,
  newSecretsManager,
  openSecretsManager,
} from "../../harness/state";

describe("property helpers", () => {
  it("annotateSecrets re-marks outputs whose same-named input held a secret (recursing into objects)", () => {
    const ins: PropertyMap = {
      a: makeSecret("x"),
      b: "plain",
      o: { inner: makeSecret(1), other: 2 },
      arr: [makeSecret(1)],
    };
    const outs: PropertyMap = { a: "x", b: "plain", o: { inner: 1, other: 2 }, arr: [1], extra: "new" };
    annotateSecrets(outs, ins);
    expect(outs).toEqual({
      a: makeSecret("x"),
      b: "plain",
      o: { inner: makeSecret(1), other: 2 },
      arr: makeSecret([1]),
      extra: "new",
    });
  });

  it("additionalSecretOutputs marks listed keys, never the id", () => {
    expect(applyAdditionalSecretOutputs({ id: "i", token: "t", n: 1 }, ["id", "token", "missing"])).toEqual({
      id: "i",
      token: makeSecret("t"),
      n: 1,
    });
  });

  it("removeSecrets / maskForDisplay", () => {
    const v: PropertyMap = { s: makeSecret({ deep: makeSecret("x") }), u: UNKNOWN, n: [1, makeSecret(2)] };
    expect(removeSecrets(v)).toEqual({ s: { deep: "x" }, u: UNKNOWN, n: [1, 2] });
    expect(maskForDisplay(v)).toEqual({ s: "[secret]", u: "[unknown]", n: [1, "[secret]"] });
    expect(makeSecret("x")).toEqual({ [SIG_KEY]: SECRET_SIG, value: "x" });
  });

  it("processIgnoreChanges carries old values forward (top-level and nested) and rejects missing parents", () => {
    const olds: PropertyMap = { a: 1, o: { x: 1, y: 2 }, gone: "g" };
    const news: PropertyMap = { a: 2, o: { x: 9, y: 9 }, added: "n" };
    expect(processIgnoreChanges(news, olds, ["a", "o.x", "gone", "added"])).toEqual({
      a: 1,
      o: { x: 1, y: 9 },
      gone: "g",
    });
    expect(news.a).toBe(2); // not mutated
    expect(() => processIgnoreChanges({ a: 1 }, { p: { q: 1 } }, ["p.q"])).toThrow(/path are missing/);
  });

  it("changedKeys compares deeply, including secretness", () => {
    expect(
      changedKeys({ a: 1, b: { c: [1] }, s: "x" }, { a: 1, b: { c: [2] }, s: makeSecret("x"), n: 1 }),
    ).toEqual(["b", "n", "s"]);
  });
});

describe("secrets manager", () => {
  it("encrypts with AES-GCM under a passphrase-derived key and refuses a wrong passphrase", () => {
    const m = newSecretsManager("pw");
    const v: PropertyMap = { a: makeSecret({ k: "v" }), b: "plain", c: [makeSecret(3)] };
    const disk = encryptValue(v, m.crypter) as PropertyMap;
    expect(JSON.stringify(disk)).not.toContain('"v"');
    expect(disk.a).toMatchObject({
      [SIG_KEY]: SECRET_SIG,
      ciphertext: expect.stringMatching(/^v1:[^:]+:[^:]+$/),
    });
    const reopened = openSecretsManager(m.saltState, "pw");
    expect(decryptValue(disk, reopened.crypter)).toEqual(v);
    expect(() => openSecretsManager(m.saltState, "other")).toThrow(/incorrect passphrase/);
    // unchanged secrets keep their ciphertext (stable state files)
    expect(encryptValue(v, reopened.crypter)).toEqual(disk);
  });
});

describe("state ordering", () => {
  it("sorts resources dependencies-first, keeping the original order otherwise", () => {
    const r = (urn: string, extra: Partial<StateResource> = {}): StateResource => ({
      urn,
      custom: true,
      type: "t",
      ...extra,
    });
    const list = [
      r("b", { dependencies: ["a"] }),
      r("c", { parent: "p" }),
      r("a", { provider: "prov::id" }),
      r("p"),
      r("prov"),
      r("d", { propertyDependencies: { x: ["c"] } }),
    ];
    expect(sortTopologically(list).map((x) => x.urn)).toEqual(["prov", "a", "b", "p", "c", "d"]);
  });
});

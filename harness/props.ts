// Property values as they travel over the Pulumi gRPC protocol (google.protobuf.Struct turned into JSON):
// a secret is `{ [SIG_KEY]: SECRET_SIG, value }`, an unknown (preview only) is the string UNKNOWN.
// The engine harness keeps every property map in this form in memory; the state file replaces the secret
// `value` with an encrypted `ciphertext` (see state.ts).

/** `specialSigKey` in @pulumi/pulumi runtime/rpc.js and sdk/go/common/resource/properties.go. */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
/** `specialSecretSig`: marks an object as a secret. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** `unknownValue`: a value not known during a preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type PropertyMap = Record<string, Json>;

export function isObject(v: unknown): v is { [key: string]: Json } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isSecret(v: unknown): v is { [key: string]: Json } {
  return isObject(v) && v[SIG_KEY] === SECRET_SIG;
}

export function makeSecret(v: Json): Json {
  if (isSecret(v)) return v;
  return { [SIG_KEY]: SECRET_SIG, value: v };
}

/** Returns the value inside one level of secret wrapping (or the value itself). */
export function secretElement(v: Json): Json {
  return isSecret(v) ? (v.value ?? null) : v;
}

/** Deep copy with every secret wrapper removed (the engine's `removeSecrets` / MarshalOptions{KeepSecrets:false}). */
export function removeSecrets(v: Json): Json {
  if (isSecret(v)) return removeSecrets(v.value ?? null);
  if (Array.isArray(v)) return v.map(removeSecrets);
  if (isObject(v)) {
    const out: { [key: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) out[k] = removeSecrets(x);
    return out;
  }
  return v;
}

export function removeSecretsMap(m: PropertyMap): PropertyMap {
  return removeSecrets(m) as PropertyMap;
}

export function containsSecrets(v: Json): boolean {
  if (isSecret(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecrets);
  if (isObject(v)) return Object.values(v).some(containsSecrets);
  return false;
}

export function containsUnknowns(v: Json): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknowns);
  if (isObject(v)) return Object.values(v).some(containsUnknowns);
  return false;
}

/**
 * The engine's `annotateSecrets(outs, ins)` from sdk/go/common/resource/plugin/provider_plugin.go: for a provider
 * that does not accept secrets, an output is marked secret when the input of the same name contained a secret
 * (recursing into objects present on both sides). Mutates and returns `outs`.
 */
export function annotateSecrets(outs: PropertyMap, ins: PropertyMap | undefined): PropertyMap {
  if (!ins) return outs;
  for (const [key, inValue] of Object.entries(ins)) {
    if (!(key in outs)) continue;
    const outValue = outs[key];
    const inPlain = isSecret(inValue) ? null : inValue;
    if (isObject(outValue) && !isSecret(outValue) && inPlain !== null && isObject(inPlain)) {
      annotateSecrets(outValue, inPlain);
    } else if (!isSecret(outValue) && containsSecrets(inValue)) {
      outs[key] = makeSecret(outValue);
    }
  }
  return outs;
}

/** Marks the listed top-level output keys secret (resource option `additionalSecretOutputs`). */
export function applyAdditionalSecretOutputs(
  outs: PropertyMap,
  keys: readonly string[] | undefined,
): PropertyMap {
  for (const k of keys ?? []) {
    if (k === "id") continue; // the engine warns and ignores: an id can never be secret
    if (k in outs && !isSecret(outs[k])) outs[k] = makeSecret(outs[k]);
  }
  return outs;
}

export function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Top-level keys that differ between two property maps (added, removed or changed), sorted. */
export function changedKeys(olds: PropertyMap, news: PropertyMap): string[] {
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
  return [...keys].filter((k) => !deepEqual(olds[k], news[k])).sort();
}

export function cloneJson<T extends Json | PropertyMap>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Normalises a value coming from protobuf Struct.toJavaScript (drops `undefined`, copies). */
export function normalize(v: unknown): PropertyMap {
  if (v === undefined || v === null) return {};
  return JSON.parse(JSON.stringify(v)) as PropertyMap;
}

function parsePath(path: string): string[] | undefined {
  // Supports `a`, `a.b`, `a["b.c"]` and `a[0]` (as key "0"), which covers what `ignoreChanges` is used with.
  const parts: string[] = [];
  const re = /([^.[\]]+)|\[(?:"((?:[^"\\]|\\.)*)"|(\d+))\]/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(path)) !== null) {
    parts.push(m[1] ?? m[2] ?? m[3] ?? "");
    consumed += m[0].length;
  }
  const dots = (path.match(/\.(?![^[]*\])/g) ?? []).length;
  if (parts.length === 0 || consumed + dots !== path.length) return undefined;
  return parts;
}

function getPath(root: Json | undefined, parts: readonly string[]): Json | undefined {
  let cur: Json | undefined = root;
  for (const k of parts) {
    const obj: Json | undefined = cur === undefined ? undefined : secretElement(cur);
    if (isObject(obj) && Object.prototype.hasOwnProperty.call(obj, k)) cur = obj[k];
    else if (Array.isArray(obj) && /^\d+$/.test(k)) cur = obj[Number(k)];
    else return undefined;
  }
  return cur;
}

/**
 * The engine's `processIgnoreChanges`: for each ignored path, carry the old input value forward into the new
 * inputs (or remove it when the old inputs did not have it). Throws when a path's parent is missing.
 */
export function processIgnoreChanges(
  news: PropertyMap,
  olds: PropertyMap,
  ignoreChanges: readonly string[] | undefined,
): PropertyMap {
  if (!ignoreChanges || ignoreChanges.length === 0) return news;
  const result = cloneJson(news);
  const invalid: string[] = [];
  for (const p of ignoreChanges) {
    const parts = parsePath(p);
    if (!parts) continue;
    const last = parts[parts.length - 1];
    const oldValue = getPath(olds, parts);
    const parentRaw = parts.length === 1 ? result : getPath(result, parts.slice(0, -1));
    const parent = parentRaw === undefined ? undefined : secretElement(parentRaw);
    if (oldValue === undefined) {
      if (isObject(parent)) delete parent[last];
      continue;
    }
    if (isObject(parent)) parent[last] = cloneJson(oldValue);
    else if (Array.isArray(parent) && /^\d+$/.test(last) && Number(last) < parent.length) {
      parent[Number(last)] = cloneJson(oldValue);
    } else invalid.push(p);
  }
  if (invalid.length > 0) {
    throw new Error(
      `cannot ignore changes to the following properties because one or more elements of the path are missing: ` +
        invalid.map((x) => JSON.stringify(x)).join(", "),
    );
  }
  return result;
}

/** Replaces every secret (at any depth) by the string "[secret]" and every unknown by "[unknown]", for display. */
export function maskForDisplay(v: Json): Json {
  if (isSecret(v)) return "[secret]";
  if (v === UNKNOWN) return "[unknown]";
  if (Array.isArray(v)) return v.map(maskForDisplay);
  if (isObject(v)) {
    const out: { [key: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) out[k] = maskForDisplay(x);
    return out;
  }
  return v;
}

/** Plaintext for tests: secrets unwrapped, unknowns shown as "[unknown]". */
export function plainForResult(v: Json): Json {
  const plain = removeSecrets(v);
  const fix = (x: Json): Json => {
    if (x === UNKNOWN) return "[unknown]";
    if (Array.isArray(x)) return x.map(fix);
    if (isObject(x)) {
      const out: { [key: string]: Json } = {};
      for (const [k, y] of Object.entries(x)) out[k] = fix(y);
      return out;
    }
    return x;
  };
  return fix(plain);
}

// The harness's state file: shaped like `pulumi stack export` (version 3 deployment), plus a harness-only
// top-level "config" object that plays the role of Pulumi.<stack>.yaml. Secret values are stored inside Pulumi's
// secret envelope `{ SIG_KEY: SECRET_SIG, "ciphertext": "v1:<nonce>:<ciphertext+tag>" }` (AES-256-GCM, key derived
// with scrypt from the passphrase and the salt kept in `secrets_providers.state.salt`).

import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Json, PropertyMap, SECRET_SIG, SIG_KEY, isObject, isSecret, removeSecrets } from "./props";

export interface StateResource {
  urn: string;
  custom: boolean;
  delete?: boolean;
  id?: string;
  type: string;
  inputs?: PropertyMap;
  outputs?: PropertyMap;
  parent?: string;
  protect?: boolean;
  retainOnDelete?: boolean;
  provider?: string;
  initErrors?: string[];
  dependencies?: string[];
  propertyDependencies?: Record<string, string[]>;
  pendingReplacement?: boolean;
  additionalSecretOutputs?: string[];
  ignoreChanges?: string[];
  created?: string;
  modified?: string;
}

export type ConfigValue = string | { secure: string };

export interface StateFile {
  version: 3;
  deployment: {
    manifest: { time: string; magic: string; version: string };
    secrets_providers?: { type: "passphrase"; state: { salt: string } };
    resources: StateResource[];
    pending_operations: unknown[];
  };
  /** Harness-only: persisted stack configuration (what Pulumi keeps in Pulumi.<stack>.yaml). */
  config?: Record<string, ConfigValue>;
}

/** Stack configuration in memory: plaintext values and which keys are secret. */
export interface StackConfig {
  values: Record<string, string>;
  secretKeys: Set<string>;
}

const SCRYPT_PARAMS = { N: 16384, r: 8, p: 1 };

/** AES-256-GCM with a passphrase-derived key; caches ciphertexts so unchanged secrets keep their bytes. */
export class Crypter {
  private readonly cache = new Map<string, string>();
  constructor(private readonly key: Buffer) {}

  static fromPassphrase(passphrase: string, salt: Buffer): Crypter {
    return new Crypter(crypto.scryptSync(passphrase, salt, 32, SCRYPT_PARAMS));
  }

  encrypt(plaintext: string): string {
    const cached = this.cache.get(plaintext);
    if (cached !== undefined) return cached;
    const nonce = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv("aes-256-gcm", this.key, nonce);
    const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
    const out = `v1:${nonce.toString("base64")}:${ct.toString("base64")}`;
    this.cache.set(plaintext, out);
    return out;
  }

  decrypt(ciphertext: string): string {
    const parts = ciphertext.split(":");
    if (parts.length !== 3 || parts[0] !== "v1") throw new Error("malformed ciphertext");
    const nonce = Buffer.from(parts[1], "base64");
    const data = Buffer.from(parts[2], "base64");
    if (data.length < 16) throw new Error("malformed ciphertext");
    const decipher = crypto.createDecipheriv("aes-256-gcm", this.key, nonce);
    decipher.setAuthTag(data.subarray(data.length - 16));
    const plain = Buffer.concat([
      decipher.update(data.subarray(0, data.length - 16)),
      decipher.final(),
    ]).toString("utf8");
    this.cache.set(plain, ciphertext);
    return plain;
  }
}

/** The passphrase secrets manager: the salt state is `v1:<salt>:<encryption of "pulumi">`, like Pulumi's. */
export interface SecretsManager {
  crypter: Crypter;
  saltState: string;
}

export function resolvePassphrase(passphrase?: string): string {
  return passphrase ?? process.env.PULUMI_CONFIG_PASSPHRASE ?? "";
}

export function newSecretsManager(passphrase: string): SecretsManager {
  const salt = crypto.randomBytes(8);
  const crypter = Crypter.fromPassphrase(passphrase, salt);
  return { crypter, saltState: `v1:${salt.toString("base64")}:${crypter.encrypt("pulumi")}` };
}

export function openSecretsManager(saltState: string, passphrase: string): SecretsManager {
  const m = /^v1:([^:]*):(v1:.*)$/.exec(saltState);
  if (!m) throw new Error("malformed secrets provider state (salt)");
  const crypter = Crypter.fromPassphrase(passphrase, Buffer.from(m[1], "base64"));
  let check: string;
  try {
    check = crypter.decrypt(m[2]);
  } catch {
    throw new Error("incorrect passphrase: cannot decrypt the secrets in the state file");
  }
  if (check !== "pulumi")
    throw new Error("incorrect passphrase: cannot decrypt the secrets in the state file");
  return { crypter, saltState };
}

/** In-memory property map (secrets as `{sig, value}`) -> on-disk form (secrets as `{sig, ciphertext}`). */
export function encryptValue(v: Json, crypter: Crypter): Json {
  if (isSecret(v)) {
    return {
      [SIG_KEY]: SECRET_SIG,
      ciphertext: crypter.encrypt(JSON.stringify(removeSecrets(v.value ?? null))),
    };
  }
  if (Array.isArray(v)) return v.map((x) => encryptValue(x, crypter));
  if (isObject(v)) {
    const out: { [key: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) out[k] = encryptValue(x, crypter);
    return out;
  }
  return v;
}

/** On-disk form -> in-memory form. */
export function decryptValue(v: Json, crypter: Crypter): Json {
  if (isSecret(v)) {
    if (typeof v.ciphertext === "string") {
      return { [SIG_KEY]: SECRET_SIG, value: JSON.parse(crypter.decrypt(v.ciphertext)) as Json };
    }
    return { [SIG_KEY]: SECRET_SIG, value: decryptValue(v.value ?? null, crypter) };
  }
  if (Array.isArray(v)) return v.map((x) => decryptValue(x, crypter));
  if (isObject(v)) {
    const out: { [key: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) out[k] = decryptValue(x, crypter);
    return out;
  }
  return v;
}

function mapResourceProps(r: StateResource, f: (m: PropertyMap) => PropertyMap): StateResource {
  const out: StateResource = { ...r };
  if (r.inputs) out.inputs = f(r.inputs);
  if (r.outputs) out.outputs = f(r.outputs);
  return out;
}

/** Raw JSON of the state file as stored (nothing decrypted). */
export function readState(statePath: string, _passphrase?: string): StateFile {
  return JSON.parse(fs.readFileSync(statePath, "utf8")) as StateFile;
}

/** Everything the engine needs from a state file, decrypted. */
export interface LoadedState {
  exists: boolean;
  secrets: SecretsManager;
  resources: StateResource[];
  config: StackConfig;
}

export function loadState(statePath: string, passphrase: string): LoadedState {
  if (!fs.existsSync(statePath)) {
    return {
      exists: false,
      secrets: newSecretsManager(passphrase),
      resources: [],
      config: { values: {}, secretKeys: new Set() },
    };
  }
  const raw = readState(statePath);
  if (!raw || raw.version !== 3 || !raw.deployment) {
    throw new Error(`${statePath} is not a version 3 state file`);
  }
  const saltState = raw.deployment.secrets_providers?.state?.salt;
  const secrets = saltState ? openSecretsManager(saltState, passphrase) : newSecretsManager(passphrase);
  const resources = (raw.deployment.resources ?? []).map((r) =>
    mapResourceProps(r, (m) => decryptValue(m, secrets.crypter) as PropertyMap),
  );
  const config: StackConfig = { values: {}, secretKeys: new Set() };
  for (const [k, v] of Object.entries(raw.config ?? {})) {
    if (typeof v === "string") config.values[k] = v;
    else if (v && typeof v.secure === "string") {
      try {
        config.values[k] = secrets.crypter.decrypt(v.secure);
      } catch {
        throw new Error(`incorrect passphrase: cannot decrypt the secret configuration value ${k}`);
      }
      config.secretKeys.add(k);
    }
  }
  return { exists: true, secrets, resources, config };
}

export function serializeState(
  resources: readonly StateResource[],
  config: StackConfig,
  secrets: SecretsManager,
  version: string,
): StateFile {
  const crypter = secrets.crypter;
  const cfg: Record<string, ConfigValue> = {};
  for (const k of Object.keys(config.values).sort()) {
    cfg[k] = config.secretKeys.has(k) ? { secure: crypter.encrypt(config.values[k]) } : config.values[k];
  }
  return {
    version: 3,
    deployment: {
      manifest: {
        time: new Date().toISOString(),
        magic: crypto.createHash("sha256").update(`pulumi-engine-harness@${version}`).digest("hex"),
        version: `v${version}`,
      },
      secrets_providers: { type: "passphrase", state: { salt: secrets.saltState } },
      resources: resources.map((r) => mapResourceProps(r, (m) => encryptValue(m, crypter) as PropertyMap)),
      pending_operations: [],
    },
    config: cfg,
  };
}

let tmpCounter = 0;

/** Atomic write: temp file in the same directory, then rename. */
export function writeFileAtomic(file: string, data: string): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${++tmpCounter}.tmp`);
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/** Resources of a state file with every secret decrypted to plaintext (for tests). */
export function decryptedResources(
  statePath: string,
  passphrase?: string,
): Array<{ urn: string; type: string; id?: string; inputs: PropertyMap; outputs: PropertyMap }> {
  const loaded = loadState(statePath, resolvePassphrase(passphrase));
  if (!loaded.exists) throw new Error(`no state file at ${statePath}`);
  return loaded.resources.map((r) => ({
    urn: r.urn,
    type: r.type,
    id: r.id,
    inputs: removeSecrets(r.inputs ?? {}) as PropertyMap,
    outputs: removeSecrets(r.outputs ?? {}) as PropertyMap,
  }));
}

/** Decrypted stack configuration of a state file (for tests). */
export function decryptedConfig(statePath: string, passphrase?: string): Record<string, string> {
  return loadState(statePath, resolvePassphrase(passphrase)).config.values;
}

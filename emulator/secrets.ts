import { createHash, randomBytes, randomInt } from "node:crypto";

/** Prefix of Dynamiq Access Keys (documented). */
export const ACCESS_KEY_PREFIX = "dynamiq_acc_";
/** Prefix of Dynamiq Personal Access Tokens (documented). */
export const PAT_PREFIX = "dyn_pat_";
/** Prefix of PATs created before the rename (documented; they still authenticate). */
export const LEGACY_PAT_PREFIX = "uak_";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** `length` characters drawn uniformly from [A-Za-z0-9]. */
export function randomAlnum(length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** A new secret: prefix + 64 random characters (documented length). */
export function newSecret(prefix: string): string {
  return prefix + randomAlnum(64);
}

/** The one-way fingerprint the platform keeps (SHA-512 of the whole secret, hex). */
export function fingerprint(secret: string): string {
  return createHash("sha512").update(secret, "utf8").digest("hex");
}

/** The short preview the platform keeps: prefix, first 3 and last 3 characters of the random part. */
export function preview(secret: string, prefix: string): string {
  const body = secret.slice(prefix.length);
  return `${prefix}${body.slice(0, 3)}...${body.slice(-3)}`;
}

/** Request ids: `req_` + 24 hex characters (assumed format). */
export function newRequestId(): string {
  return "req_" + randomBytes(12).toString("hex");
}

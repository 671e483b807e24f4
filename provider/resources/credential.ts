// What Access Keys and Personal Access Tokens share: the documented name rule, the expiry rules, the rotation
// policy, and the check and the diff of both kinds, which turn a due rotation into a replacement. Neither has an
// update endpoint, so every change of a platform field replaces; the rotation policy itself is ours and changes
// in place.
//
// One rotation model for every credential: rotate after an age, renew before expiry, rotate when a trigger value
// changes, and always replace a credential that has already expired. A rotation is an ordinary replacement
// (create the new credential, hand it to dependents, revoke the old one last), so the reasons are reported as
// the properties that force the replacement and show in `pulumi preview`.
import type { z as Z } from "zod";
import type { InputFailure } from "../errors";
import { changedKeys, isUnknown, type DiffOutcome } from "../resource";
import { failuresOf, userInputs } from "../validate";

// ---------------------------------------------------------------------------------------------------------------
// Rotation
// ---------------------------------------------------------------------------------------------------------------

export interface Rotation {
  /** Replace the credential once it is older than this many days (from its creation time on the platform). */
  rotateAfterDays?: number;
  /** Replace the credential once its expiry is this many days away or closer. */
  renewBeforeExpiryDays?: number;
  /** Any value; changing it rotates the credential. */
  trigger?: string;
}

export const DAY_MS = 86_400_000;

/** The replacement reasons, as shown in a preview. */
export const ROTATION_REASONS = {
  age: "rotation.rotateAfterDays",
  expiry: "rotation.renewBeforeExpiryDays",
  trigger: "rotation.trigger",
  expired: "expiresAt",
} as const;

export interface CredentialTimes {
  createdAt?: string;
  expiresAt?: string | null;
  rotation?: Rotation;
}

/** Why a credential in state must be replaced now under the declared rotation policy; empty when it need not. */
export function rotationDue(olds: CredentialTimes, news: { rotation?: Rotation }, now: Date): string[] {
  const reasons: string[] = [];
  const t = now.getTime();
  if ((olds.rotation?.trigger ?? "") !== (news.rotation?.trigger ?? ""))
    reasons.push(ROTATION_REASONS.trigger);
  const expires = olds.expiresAt ? Date.parse(olds.expiresAt) : NaN;
  if (!Number.isNaN(expires) && expires <= t) reasons.push(ROTATION_REASONS.expired);
  const created = olds.createdAt ? Date.parse(olds.createdAt) : NaN;
  const after = news.rotation?.rotateAfterDays;
  if (after !== undefined && !Number.isNaN(created) && t - created >= after * DAY_MS)
    reasons.push(ROTATION_REASONS.age);
  const before = news.rotation?.renewBeforeExpiryDays;
  if (before !== undefined && !Number.isNaN(expires) && expires > t && expires - t <= before * DAY_MS) {
    reasons.push(ROTATION_REASONS.expiry);
  }
  return reasons;
}

/** The expiry to request at creation: a fixed date, or a rolling window from now. */
export function expiryFor(
  inputs: { expiresAt?: string; expiresInDays?: number },
  now: Date,
): string | undefined {
  if (inputs.expiresAt) return inputs.expiresAt;
  if (inputs.expiresInDays !== undefined) {
    return new Date(now.getTime() + inputs.expiresInDays * DAY_MS).toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Inputs, check and diff
// ---------------------------------------------------------------------------------------------------------------

/** Documented: up to 128 characters, starts and ends with a letter or digit, spaces and . / _ ' - between. */
export const CREDENTIAL_NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9 ./_'-]{0,126}[A-Za-z0-9])?$/;
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export interface CredentialInputs {
  name: string;
  /** A fixed expiry (RFC 3339), in the future when set. */
  expiresAt?: string;
  /** A rolling expiry: each new credential expires this many days after it is created. */
  expiresInDays?: number;
  rotation?: Rotation;
  /** Take over an existing credential by id instead of creating one; its secret cannot be recovered. */
  adoptId?: string;
}

export interface CredentialOutputs {
  name: string;
  /** The secret, shown once at creation; absent for adopted credentials. */
  key?: string;
  preview: string;
  expiresAt?: string;
  createdAt: string;
  expiresInDays?: number;
  rotation?: Rotation;
  adoptId?: string;
}

/**
 * zod fields shared by both credential kinds; built at run time (zod schemas do not serialise).
 * @internal (its declaration would pull zod's types into the published `pulumi-dynamiq/provider` types)
 */
export function credentialShape(z: typeof import("zod").z) {
  const days = (max: number) =>
    z
      .number({ error: "must be a number of days" })
      .positive("must be greater than 0")
      .max(max, `must be at most ${max}`);
  return {
    name: z
      .string()
      .max(128, "must be at most 128 characters")
      .regex(
        CREDENTIAL_NAME_RE,
        "must start and end with a letter or digit and contain only letters, digits, spaces and . / _ ' - (at most 128 characters)",
      ),
    expiresAt: z
      .string()
      .regex(RFC3339_RE, "must be an RFC 3339 time such as 2026-12-31T00:00:00Z")
      .optional(),
    expiresInDays: days(3650).int("must be a whole number of days").optional(),
    rotation: z
      .strictObject({
        rotateAfterDays: days(3650).optional(),
        renewBeforeExpiryDays: days(3650).optional(),
        trigger: z.string().max(1024, "must be at most 1024 characters").optional(),
      })
      .optional(),
    adoptId: z.string().min(1, "must not be empty").optional(),
  };
}

/**
 * Rules across fields: one kind of expiry, an expiry in the future, renewal needs an expiry.
 * @internal (its declaration would pull zod's types into the published `pulumi-dynamiq/provider` types)
 */
export function credentialFailures(
  schema: Z.ZodType,
  olds: Record<string, unknown>,
  inputs: Record<string, unknown>,
  now: Date,
): InputFailure[] {
  const failures = failuresOf(schema, inputs, "");
  const { expiresAt, expiresInDays, rotation } = inputs as unknown as CredentialInputs;
  if (expiresAt !== undefined && expiresInDays !== undefined) {
    failures.push({
      property: "expiresInDays",
      reason: "cannot be combined with expiresAt; choose a fixed or a rolling expiry",
    });
  }
  // The platform only accepts a future expiry; an unchanged one already in use may have passed since.
  if (typeof expiresAt === "string" && !isUnknown(expiresAt) && expiresAt !== olds.expiresAt) {
    const t = Date.parse(expiresAt);
    if (!Number.isNaN(t) && t <= now.getTime())
      failures.push({ property: "expiresAt", reason: "must be in the future" });
  }
  if (
    rotation?.renewBeforeExpiryDays !== undefined &&
    expiresAt === undefined &&
    expiresInDays === undefined
  ) {
    failures.push({
      property: "rotation.renewBeforeExpiryDays",
      reason: "needs an expiry: set expiresAt or expiresInDays",
    });
  }
  return failures;
}

function sameInstant(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a === b || Date.parse(a) === Date.parse(b);
}

/** A new expiry means a new credential: a different rolling window, or a different fixed date. */
function expiryChanged(olds: CredentialOutputs, news: CredentialInputs): boolean {
  if (isUnknown(news.expiresAt) || isUnknown(news.expiresInDays)) return true;
  if (olds.expiresInDays !== news.expiresInDays) return true;
  return news.expiresInDays === undefined && !sameInstant(olds.expiresAt ?? undefined, news.expiresAt);
}

/**
 * Changes of the platform fields replace; so does a rotation that is due. The rotation policy (apart from its
 * trigger) changes in place, without an API call.
 */
export function credentialDiff<O extends CredentialOutputs, I extends CredentialInputs>(
  olds: O,
  news: I,
  platformFields: Array<keyof I & keyof O & string>,
  now: Date,
): DiffOutcome {
  const replaces = [...changedKeys(olds as unknown as I, news, [...platformFields, "adoptId"])];
  if (expiryChanged(olds, news))
    replaces.push(news.expiresInDays !== undefined ? "expiresInDays" : "expiresAt");
  replaces.push(...rotationDue(olds, news, now));
  const policy = changedKeys(
    {
      rotateAfterDays: olds.rotation?.rotateAfterDays,
      renewBeforeExpiryDays: olds.rotation?.renewBeforeExpiryDays,
    },
    {
      rotateAfterDays: news.rotation?.rotateAfterDays,
      renewBeforeExpiryDays: news.rotation?.renewBeforeExpiryDays,
    },
    ["rotateAfterDays", "renewBeforeExpiryDays"],
  ).map((k) => `rotation.${k}`);
  const unique = [...new Set(replaces)];
  const diffs = [...new Set([...unique, ...policy])];
  return { changes: diffs.length > 0, replaces: unique, diffs };
}

/** What both kinds read back: the platform's fields, the secret when known, and the policy from the inputs. */
export function credentialOutputs(
  rec: { name: string; preview: string; created_at: string; expires_at: string | null },
  inputs: CredentialInputs,
  key: string | undefined,
): CredentialOutputs {
  const out: CredentialOutputs = { name: rec.name, preview: rec.preview, createdAt: rec.created_at };
  if (key !== undefined) out.key = key;
  if (rec.expires_at) out.expiresAt = rec.expires_at;
  if (inputs.expiresInDays !== undefined) out.expiresInDays = inputs.expiresInDays;
  if (inputs.rotation !== undefined) out.rotation = inputs.rotation;
  if (inputs.adoptId !== undefined) out.adoptId = inputs.adoptId;
  return out;
}

/**
 * The check of both kinds: the inputs the user gave, against the kind's schema and the cross-field rules.
 * @internal (its declaration would pull zod's types into the published `pulumi-dynamiq/provider` types)
 */
export function credentialCheck<I extends CredentialInputs>(
  schema: () => Z.ZodType,
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
  now: Date,
): { inputs: I; failures: InputFailure[] } {
  const inputs = userInputs(news);
  return { inputs: inputs as unknown as I, failures: credentialFailures(schema(), olds, inputs, now) };
}

/** The in-place update of a credential: only the rotation policy, which lives in state, not on the platform. */
export function withRotationPolicy<O extends CredentialOutputs>(olds: O, news: CredentialInputs): O {
  const outs: O = { ...olds };
  if (news.rotation !== undefined) outs.rotation = news.rotation;
  else delete outs.rotation;
  return outs;
}

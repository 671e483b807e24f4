// One rotation model for every credential: rotate after an age, renew before expiry, rotate when a trigger value
// changes, and always replace a credential that has already expired. A rotation is an ordinary replacement
// (create the new credential, hand it to dependents, revoke the old one last), so the reasons below are
// reported as the properties that force the replacement and show in `pulumi preview`.

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

import { describe, expect, it } from "vitest";
import { accessKey, type AccessKeyOutputs } from "../../provider/resources/access-key";
import { personalAccessToken } from "../../provider/resources/personal-access-token";
import { DAY_MS, expiryFor, rotationDue } from "../../provider/resources/credential";
import { UNKNOWN } from "../../provider/resource";

const now = new Date("2026-11-22T12:00:00Z");
const orgId = "11111111-2222-4333-8444-555555555555";
const projectId = "66666666-7777-4888-9999-aaaaaaaaaaaa";
const check = (news: Record<string, unknown>, olds: Record<string, unknown> = {}) =>
  accessKey.check(olds, news, now).failures;
const daysAgo = (d: number) => new Date(now.getTime() - d * DAY_MS).toISOString();
const inDays = (d: number) => new Date(now.getTime() + d * DAY_MS).toISOString();

describe("AccessKey and PersonalAccessToken check", () => {
  it("accepts the documented name rule and rejects names that break it", () => {
    for (const name of ["prod-backend", "a", "Team A's key v1.2/blue_green", "x".repeat(128)]) {
      expect(check({ orgId, name }), name).toEqual([]);
    }
    for (const name of ["", "-lead", "trail.", "x".repeat(129), "tab\tname", "ключ", "a\u0000b"]) {
      const f = check({ orgId, name });
      expect(
        f.map((x) => x.property),
        JSON.stringify(name),
      ).toContain("name");
    }
    expect(check({ orgId, name: "-x" })[0].reason).toMatch(/start and end with a letter or digit/);
  });

  it("requires a future RFC 3339 expiry, but keeps accepting an unchanged one that has since passed", () => {
    expect(check({ orgId, name: "k", expiresAt: "2026-12-31" })[0]).toEqual({
      property: "expiresAt",
      reason: "must be an RFC 3339 time such as 2026-12-31T00:00:00Z",
    });
    expect(check({ orgId, name: "k", expiresAt: daysAgo(1) })).toEqual([
      { property: "expiresAt", reason: "must be in the future" },
    ]);
    const past = daysAgo(1);
    expect(check({ orgId, name: "k", expiresAt: past }, { expiresAt: past })).toEqual([]);
    expect(check({ orgId, name: "k", expiresAt: inDays(30) })).toEqual([]);
  });

  it("checks ids, rotation and expiry combinations", () => {
    expect(
      check({ orgId: "org-1", name: "k", projectId: "p" })
        .map((f) => f.property)
        .sort(),
    ).toEqual(["orgId", "projectId"]);
    expect(check({ orgId, name: "k", expiresAt: inDays(3), expiresInDays: 3 })[0].property).toBe(
      "expiresInDays",
    );
    expect(check({ orgId, name: "k", rotation: { renewBeforeExpiryDays: 7 } })).toEqual([
      {
        property: "rotation.renewBeforeExpiryDays",
        reason: "needs an expiry: set expiresAt or expiresInDays",
      },
    ]);
    expect(check({ orgId, name: "k", rotation: { rotateAfterDays: -1 } })[0].property).toBe(
      "rotation.rotateAfterDays",
    );
    expect(check({ orgId, name: "k", rotation: { every: 3 } })[0].property).toBe("rotation.every");
    expect(check({ orgId, name: UNKNOWN, projectId: UNKNOWN })).toEqual([]);
  });

  it("validates tokens with the same rules and nothing org-related", () => {
    expect(personalAccessToken.check({}, { name: "ci-token", expiresInDays: 30 }, now).failures).toEqual([]);
    expect(personalAccessToken.check({}, { name: "ci", orgId }, now).failures).toEqual([
      { property: "orgId", reason: "unknown property" },
    ]);
  });
});

describe("rotation", () => {
  const key = (o: Partial<AccessKeyOutputs>): AccessKeyOutputs => ({
    name: "k",
    orgId,
    preview: "p",
    createdAt: daysAgo(1),
    ...o,
  });
  const news = { name: "k", orgId };

  it("plans nothing for a fresh key", () => {
    expect(
      accessKey.diff(
        "id",
        key({ rotation: { rotateAfterDays: 30 } }),
        { ...news, rotation: { rotateAfterDays: 30 } },
        now,
      ),
    ).toEqual({
      changes: false,
      replaces: [],
      diffs: [],
    });
  });

  it("replaces by age, near expiry, on a new trigger, and when expired, naming the reason", () => {
    expect(rotationDue({ createdAt: daysAgo(31) }, { rotation: { rotateAfterDays: 30 } }, now)).toEqual([
      "rotation.rotateAfterDays",
    ]);
    expect(
      rotationDue(
        { createdAt: daysAgo(1), expiresAt: inDays(5) },
        { rotation: { renewBeforeExpiryDays: 7 } },
        now,
      ),
    ).toEqual(["rotation.renewBeforeExpiryDays"]);
    expect(
      rotationDue({ createdAt: daysAgo(1), rotation: { trigger: "a" } }, { rotation: { trigger: "b" } }, now),
    ).toEqual(["rotation.trigger"]);
    expect(rotationDue({ createdAt: daysAgo(1), expiresAt: daysAgo(0.5) }, {}, now)).toEqual(["expiresAt"]);
    const d = accessKey.diff(
      "id",
      key({ createdAt: daysAgo(90) }),
      { ...news, rotation: { rotateAfterDays: 30 } },
      now,
    );
    expect(d).toMatchObject({ changes: true, replaces: ["rotation.rotateAfterDays"] });
  });

  it("replaces on any platform field change and keeps a rolling expiry stable", () => {
    expect(accessKey.diff("id", key({}), { ...news, name: "k2" }, now).replaces).toEqual(["name"]);
    expect(accessKey.diff("id", key({}), { ...news, projectId }, now).replaces).toEqual(["projectId"]);
    const rolling = key({ expiresInDays: 90, expiresAt: inDays(89) });
    expect(accessKey.diff("id", rolling, { ...news, expiresInDays: 90 }, now).changes).toBe(false);
    expect(accessKey.diff("id", rolling, { ...news, expiresInDays: 30 }, now).replaces).toEqual([
      "expiresInDays",
    ]);
    const fixed = key({ expiresAt: "2027-01-01T00:00:00.000Z" });
    expect(accessKey.diff("id", fixed, { ...news, expiresAt: "2027-01-01T00:00:00Z" }, now).changes).toBe(
      false,
    );
  });

  it("changes the rotation policy in place, without a replacement", () => {
    const d = accessKey.diff(
      "id",
      key({ rotation: { rotateAfterDays: 30 } }),
      { ...news, rotation: { rotateAfterDays: 60 } },
      now,
    );
    expect(d).toEqual({ changes: true, replaces: [], diffs: ["rotation.rotateAfterDays"] });
  });

  it("computes a rolling expiry from the creation time", () => {
    expect(expiryFor({ expiresInDays: 90 }, now)).toBe("2027-02-20T12:00:00Z");
    expect(expiryFor({ expiresAt: "2027-01-01T00:00:00Z", expiresInDays: undefined }, now)).toBe(
      "2027-01-01T00:00:00Z",
    );
    expect(expiryFor({}, now)).toBeUndefined();
  });
});

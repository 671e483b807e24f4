import * as pulumi from "@pulumi/pulumi";
import { AccessKey, PersonalAccessToken } from "pulumi-dynamiq";

const cfg = new pulumi.Config();
const orgId = cfg.require("orgId");
const projectId = cfg.require("projectId");

// By age: a key that never expires, replaced once it is 30 days old. Every `pulumi up` (or a scheduled CI
// job) after day 30 plans the replacement; a preview shows it as "replace" on rotation.rotateAfterDays.
const byAge = new AccessKey("by-age", {
  orgId,
  projectId,
  name: "rotation-by-age",
  rotation: { rotateAfterDays: 30 },
});

// By expiry: a rolling window. Each key expires 90 days after its own creation and is renewed when 14 days
// remain; no date is ever edited by hand.
const byExpiry = new AccessKey("by-expiry", {
  orgId,
  name: "rotation-by-expiry",
  expiresInDays: 90,
  rotation: { renewBeforeExpiryDays: 14 },
});

// By trigger: rotate on demand (an incident, a leaked key) by changing one value, e.g.
//   pulumi config set triggerValue 2026-11-incident
const byTrigger = new AccessKey("by-trigger", {
  orgId,
  projectId,
  name: "rotation-by-trigger",
  rotation: { trigger: cfg.get("triggerValue") ?? "initial" },
});

// A token for automation, renewed a week before its 30-day life ends.
const ciToken = new PersonalAccessToken("ci-token", {
  name: "rotation-ci",
  expiresInDays: 30,
  rotation: { renewBeforeExpiryDays: 7 },
});

export const keys = {
  byAge: { id: byAge.id, preview: byAge.preview, createdAt: byAge.createdAt },
  byExpiry: { id: byExpiry.id, preview: byExpiry.preview, expiresAt: byExpiry.expiresAt },
  byTrigger: { id: byTrigger.id, preview: byTrigger.preview },
};
export const ciTokenPreview = ciToken.preview;
// Consumers read the secret itself from the stack's secret outputs, e.g. `pulumi stack output byAgeKey --show-secrets`.
export const byAgeKey = byAge.key;

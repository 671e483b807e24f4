// Dynamiq Access Key: an organisation credential for deployed resources, org-wide or scoped to one project.
// The secret is returned once, at creation, and kept in (secret) state from then on. There is no update
// endpoint: any change of a platform field replaces, create-before-delete, so dependents receive the new key
// before the old one is revoked. The check, the diff (what replaces, rotation included) and the outputs are the
// credential kinds' shared ones, in credential.ts; this file holds what is the key's own: org and project, the
// API calls and adoption.
import type { z as Z } from "zod";
import { ProviderError } from "../errors";
import type { AccessKeyRecord } from "../clients/dynamiq";
import { unlessGone, type ResourceDefinition } from "../resource";
import { collectPages } from "../pagination";
import { createReconciled } from "../reconcile";
import { UUID_RE } from "../validate";
import {
  credentialCheck,
  credentialDiff,
  credentialOutputs,
  credentialShape,
  expiryFor,
  withRotationPolicy,
  type CredentialInputs,
  type CredentialOutputs,
} from "./credential";

export interface AccessKeyInputs extends CredentialInputs {
  /** The organisation the key belongs to (UUID). */
  orgId: string;
  /** Scope the key to one project of the organisation; omit for an organisation-wide key. */
  projectId?: string;
}

export interface AccessKeyOutputs extends CredentialOutputs {
  orgId: string;
  projectId?: string;
  createdBy?: string;
}

let schema: Z.ZodType | undefined;
function inputSchema(): Z.ZodType {
  if (schema) return schema;
  const { z } = require("zod") as typeof import("zod");
  const uuid = (what: string) => z.string().regex(UUID_RE, `must be ${what} id (a UUID)`);
  schema = z.strictObject({
    ...credentialShape(z),
    orgId: uuid("an organisation"),
    projectId: uuid("a project").optional(),
  });
  return schema;
}

function outputsOf(rec: AccessKeyRecord, inputs: AccessKeyInputs, key: string | undefined): AccessKeyOutputs {
  const out: AccessKeyOutputs = { ...credentialOutputs(rec, inputs, key), orgId: rec.org_id };
  if (rec.project_id) out.projectId = rec.project_id;
  if (rec.created_by) out.createdBy = rec.created_by;
  return out;
}

export const accessKey: ResourceDefinition<AccessKeyInputs, AccessKeyOutputs> = {
  type: "AccessKey",
  platform: "dynamiq",

  check(olds, news, now = new Date()) {
    return credentialCheck<AccessKeyInputs>(inputSchema, olds, news, now);
  },

  diff(_id, olds, news, now = new Date()) {
    return credentialDiff(olds, news, ["name", "orgId", "projectId"], now);
  },

  async create(ctx, inputs) {
    const client = ctx.dynamiq();
    if (inputs.adoptId) {
      const rec = await client.getAccessKey(inputs.adoptId);
      if (rec.org_id !== inputs.orgId || (rec.project_id ?? undefined) !== inputs.projectId) {
        throw new ProviderError(
          "invalid_input",
          `dynamiq: access key ${rec.id} belongs to org ${rec.org_id}${rec.project_id ? ` project ${rec.project_id}` : " (organisation-wide)"}, not to the orgId/projectId declared; declare its real scope to adopt it`,
        );
      }
      // Adopting takes over the key as it is; its secret was shown once, to whoever created it.
      return { id: rec.id, outs: outputsOf(rec, { ...inputs, name: rec.name }, undefined) };
    }
    const expires = expiryFor(inputs, ctx.now());
    // A lost answer leaves a key whose secret nobody has: revoke it and create again (provider/reconcile.ts).
    const { rec } = await createReconciled<AccessKeyRecord>({
      kind: "access key",
      name: inputs.name,
      scope: `${inputs.orgId}/${inputs.projectId ?? ""}`,
      resolve: "revoke",
      create: () =>
        client.createAccessKey({
          name: inputs.name,
          org_id: inputs.orgId,
          ...(inputs.projectId ? { project_id: inputs.projectId } : {}),
          ...(expires ? { expires_at: expires } : {}),
        }),
      candidates: () =>
        collectPages(
          (page, page_size) => client.listAccessKeys({ org_id: inputs.orgId, page, page_size }),
          (k) => k.name === inputs.name && (k.project_id ?? undefined) === inputs.projectId,
        ),
      revoke: async (k) => void (await client.deleteAccessKey(k.id)),
    });
    return { id: rec.id, outs: outputsOf(rec, inputs, rec.key) };
  },

  async read(ctx, id, props) {
    // Only a confirmed 404/410 means revoked; every other failure keeps state.
    const rec = await unlessGone(ctx.dynamiq().getAccessKey(id));
    if (!rec) return null;
    // The API never returns the secret again: keep the one in state.
    const outs = outputsOf(rec, props, props.key);
    return { id, props: outs };
  },

  async update(_ctx, _id, olds, news) {
    return withRotationPolicy(olds, news);
  },

  async delete(ctx, id) {
    await ctx.dynamiq().deleteAccessKey(id);
  },
};

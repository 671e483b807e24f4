// Dynamiq Personal Access Token: a user credential for the management API. Same model as Access Keys (secret
// once, no update endpoint, rotation by replacement). Only a PAT may manage PATs, which the client enforces
// before any call. Revoking the very token the provider is using would cut the run off mid-way, so that one
// delete is refused with instructions instead (see README, "Rotating the provider's own token"). The check, the
// diff (what replaces, rotation included) and the outputs are the credential kinds' shared ones, in
// credential.ts; this file holds the token's own API calls and that safeguard.
import { createHash } from "node:crypto";
import type { z as Z } from "zod";
import { ProviderError } from "../errors";
import type { TokenRecord } from "../clients/dynamiq";
import { unlessGone, type ResourceDefinition } from "../resource";
import { collectPages } from "../pagination";
import { createReconciled } from "../reconcile";
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

export type PersonalAccessTokenInputs = CredentialInputs;
export type PersonalAccessTokenOutputs = CredentialOutputs;

let schema: Z.ZodType | undefined;
function inputSchema(): Z.ZodType {
  if (schema) return schema;
  const { z } = require("zod") as typeof import("zod");
  schema = z.strictObject(credentialShape(z));
  return schema;
}

const fingerprint = (s: string) => createHash("sha512").update(s).digest("hex");

export const personalAccessToken: ResourceDefinition<PersonalAccessTokenInputs, PersonalAccessTokenOutputs> =
  {
    type: "PersonalAccessToken",
    platform: "dynamiq",

    check(olds, news, now = new Date()) {
      return credentialCheck<PersonalAccessTokenInputs>(inputSchema, olds, news, now);
    },

    diff(_id, olds, news, now = new Date()) {
      return credentialDiff(olds, news, ["name"], now);
    },

    async create(ctx, inputs) {
      const client = ctx.dynamiq();
      if (inputs.adoptId) {
        const rec = await client.getToken(inputs.adoptId);
        return { id: rec.id, outs: credentialOutputs(rec, { ...inputs, name: rec.name }, undefined) };
      }
      const expires = expiryFor(inputs, ctx.now());
      // A lost answer leaves a token whose secret nobody has: revoke it and create again (provider/reconcile.ts).
      const { rec } = await createReconciled<TokenRecord>({
        kind: "personal access token",
        name: inputs.name,
        // Tokens belong to the user the provider authenticates as: a one-way digest of the credential, never it.
        scope: `user:${fingerprint(ctx.dynamiqCredential().value).slice(0, 16)}`,
        resolve: "revoke",
        create: () => client.createToken({ name: inputs.name, ...(expires ? { expires_at: expires } : {}) }),
        candidates: () =>
          collectPages(
            (page, page_size) => client.listTokens({ page, page_size }),
            (t) => t.name === inputs.name,
          ),
        revoke: async (t) => void (await client.deleteToken(t.id)),
      });
      return { id: rec.id, outs: credentialOutputs(rec, inputs, rec.key) };
    },

    async read(ctx, id, props) {
      const rec = await unlessGone(ctx.dynamiq().getToken(id));
      if (!rec) return null;
      return { id, props: credentialOutputs(rec, props, props.key) };
    },

    async update(_ctx, _id, olds, news) {
      return withRotationPolicy(olds, news);
    },

    async delete(ctx, id, props) {
      const { value: own, setting } = ctx.dynamiqCredential();
      const isOwn =
        props.key !== undefined
          ? fingerprint(props.key) === fingerprint(own)
          : props.preview === tokenPreview(own);
      if (isOwn) {
        throw new ProviderError(
          "configuration",
          `dynamiq: personal access token ${id} (${props.preview}) is the credential this provider is using, so it is not revoked now: set ${setting} to the new token (the \`key\` output of its replacement) and run again; that run revokes this one`,
        );
      }
      await ctx.dynamiq().deleteToken(id);
    },
  };

/** The platform's preview: prefix, first three and last three characters of the random part. */
export function tokenPreview(token: string): string {
  const m = /^(dyn_pat_|uak_)(.*)$/.exec(token);
  if (!m || m[2].length < 6) return "";
  return `${m[1]}${m[2].slice(0, 3)}...${m[2].slice(-3)}`;
}

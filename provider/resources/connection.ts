// Dynamiq Connection: stored credentials and configuration for an external service, scoped to a project.
// Type and config change in place (PUT); a new name or project means a new connection. GET never returns
// credentials, so secret fields are carried from state unless secret drift checking is on.
import type { z as Z } from "zod";
import { ConflictError, ProviderError, type InputFailure } from "../errors";
import type { ConnectionRecord } from "../clients/dynamiq";
import {
  changedKeys,
  isUnknown,
  unlessGone,
  type ResourceContext,
  type ResourceDefinition,
} from "../resource";
import { collectPages } from "../pagination";
import { createReconciled } from "../reconcile";
import { UUID_RE, failuresOf, isCleanText, userInputs } from "../validate";
import { TYPE_PREFIX, configSchema, isOAuthType } from "./connection-types";

export interface ConnectionInputs {
  /** The project the connection belongs to (UUID). */
  projectId: string;
  /** Display name; changing it creates a new connection. */
  name: string;
  /** A Dynamiq connection class, e.g. `dynamiq.connections.OpenAI`. */
  type: string;
  /** Type-specific fields; a secret in state. */
  config: Record<string, unknown>;
  /**
   * Opt-in: on refresh, also compare the stored config with the platform's credentials endpoint, so that a
   * credential changed out of band shows as drift. Costs one more API call per refresh.
   */
  checkSecretDrift?: boolean;
  /**
   * Take over an existing connection by id instead of creating one. Its name and project must match; its type
   * and config are then set to the declared ones.
   */
  adoptId?: string;
}

export interface ConnectionOutputs extends ConnectionInputs {
  status: string;
  /** For OAuth types: where a person grants consent; the connection stays `incomplete` until then. */
  authorizationUrl?: string;
  createdAt?: string;
}

let schema: Z.ZodType | undefined;
function inputSchema(): Z.ZodType {
  if (schema) return schema;
  const { z } = require("zod") as typeof import("zod");
  const text = (max: number) =>
    z
      .string()
      .min(1, "must not be empty")
      .max(max, `must be at most ${max} characters`)
      .refine(isCleanText, "must not contain control characters or invalid unicode");
  schema = z.strictObject({
    projectId: z.string().regex(UUID_RE, "must be a project id (a UUID)"),
    name: text(255).refine((s) => s.trim() === s, "must not start or end with white space"),
    type: z
      .string()
      .regex(
        /^dynamiq\.connections\.[A-Za-z][A-Za-z0-9_]*$/,
        `must be a connection class such as ${TYPE_PREFIX}OpenAI`,
      ),
    config: z.record(z.string(), z.unknown()),
    checkSecretDrift: z.boolean().optional(),
    adoptId: z.string().regex(UUID_RE, "must be a connection id (a UUID)").optional(),
  });
  return schema;
}

function check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
  const inputs = userInputs(news);
  const failures: InputFailure[] = failuresOf(inputSchema(), inputs, "");
  const { type, config } = inputs;
  if (
    typeof type === "string" &&
    !isUnknown(type) &&
    config &&
    typeof config === "object" &&
    !Array.isArray(config)
  ) {
    const cfgSchema = configSchema(type);
    if (cfgSchema && !isUnknown(config)) {
      failures.push(
        ...failuresOf(
          cfgSchema,
          config,
          "config",
          `is not a field of ${type}; the platform would drop it silently`,
        ),
      );
    }
  }
  return { inputs: inputs as unknown as ConnectionInputs, failures };
}

const IN_PLACE = ["type", "config", "checkSecretDrift"] as const;
const REPLACING = ["projectId", "name", "adoptId"] as const;

function diff(_id: string, olds: ConnectionOutputs, news: ConnectionInputs) {
  const replaces = changedKeys(olds, news, [...REPLACING]);
  const diffs = [...replaces, ...changedKeys(olds, news, [...IN_PLACE])];
  return { changes: diffs.length > 0, replaces, diffs };
}

/**
 * What errors must mask: every string in the config, not only the catalogue's secret fields, because the whole
 * config is a secret in state (and a field's secrecy is unknown for types outside the catalogue).
 */
function valuesToRedact(config: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === "string") out.push(v);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(config);
  return out;
}

function outputsOf(
  rec: ConnectionRecord,
  inputs: ConnectionInputs,
  prior?: Partial<ConnectionOutputs>,
): ConnectionOutputs {
  const out: ConnectionOutputs = {
    projectId: rec.project_id,
    name: rec.name,
    type: rec.type,
    config: inputs.config,
    status: rec.status,
    createdAt: rec.created_at,
  };
  if (inputs.checkSecretDrift !== undefined) out.checkSecretDrift = inputs.checkSecretDrift;
  if (inputs.adoptId !== undefined) out.adoptId = inputs.adoptId;
  if (prior?.authorizationUrl) out.authorizationUrl = prior.authorizationUrl;
  return out;
}

async function authorizationUrl(ctx: ResourceContext, id: string, rec: ConnectionRecord) {
  if (!isOAuthType(rec.type) || rec.status === "active") return undefined;
  return (await ctx.dynamiq().authorizeConnection(id)).url;
}

/** Takes over an existing connection: same name and project required, declared type and config applied. */
async function adopt(ctx: ResourceContext, id: string, inputs: ConnectionInputs) {
  const client = ctx.dynamiq();
  const existing = await client.getConnection(id);
  if (existing.name !== inputs.name || existing.project_id !== inputs.projectId) {
    throw new ProviderError(
      "invalid_input",
      `dynamiq: connection ${id} is named "${existing.name}" in project ${existing.project_id}; declare that name and projectId to adopt it`,
    );
  }
  const rec = await client.updateConnection(
    id,
    { type: inputs.type, config: inputs.config },
    valuesToRedact(inputs.config),
  );
  const outs = outputsOf(rec, inputs);
  const url = await authorizationUrl(ctx, id, rec);
  if (url) outs.authorizationUrl = url;
  return { id, outs };
}

export const connection: ResourceDefinition<ConnectionInputs, ConnectionOutputs> = {
  type: "Connection",
  platform: "dynamiq",
  check,
  diff,

  async create(ctx, inputs) {
    if (inputs.adoptId) return adopt(ctx, inputs.adoptId, inputs);
    const client = ctx.dynamiq();
    // A lost answer: adopt the connection that attempt made (its config is the one we sent; nothing secret is
    // lost), rather than leave a second copy of the user's credentials on the platform (provider/reconcile.ts).
    const { rec } = await createReconciled<ConnectionRecord>({
      kind: "connection",
      name: inputs.name,
      scope: `${inputs.projectId}/${inputs.type}`,
      resolve: "adopt",
      create: () =>
        client.createConnection(
          { name: inputs.name, project_id: inputs.projectId, type: inputs.type, config: inputs.config },
          valuesToRedact(inputs.config),
        ),
      candidates: () =>
        collectPages(
          (page, page_size) => client.listConnections({ project_id: inputs.projectId, page, page_size }),
          (c) => c.name === inputs.name && c.type === inputs.type,
        ),
    });
    const outs = outputsOf(rec, inputs);
    // The connection exists now: failing the create over its consent URL would leave it unrecorded. Without
    // the URL, the next refresh asks for it again.
    const url = await authorizationUrl(ctx, rec.id, rec).catch(() => undefined);
    if (url) outs.authorizationUrl = url;
    return { id: rec.id, outs };
  },

  async read(ctx, id, props) {
    const client = ctx.dynamiq();
    const rec = await unlessGone(client.getConnection(id));
    if (!rec) return null;
    // GET strips credentials: keep every field the platform did not return, take every field it did.
    let config: Record<string, unknown> = { ...(props.config ?? {}), ...(rec.config ?? {}) };
    if (props.checkSecretDrift) config = await client.connectionCredentials(id);
    const inputs: ConnectionInputs = {
      projectId: rec.project_id,
      name: rec.name,
      type: rec.type,
      config,
      ...(props.checkSecretDrift !== undefined ? { checkSecretDrift: props.checkSecretDrift } : {}),
      ...(props.adoptId !== undefined ? { adoptId: props.adoptId } : {}),
    };
    const outs = outputsOf(rec, inputs, props);
    if (rec.status === "active") delete outs.authorizationUrl;
    else if (!outs.authorizationUrl) {
      // A create whose consent-URL call failed: ask again (display only, so a failure here is not fatal).
      const url = await authorizationUrl(ctx, id, rec).catch(() => undefined);
      if (url) outs.authorizationUrl = url;
    }
    return { id, props: outs, inputs };
  },

  async update(ctx, id, olds, news) {
    const rec = await ctx
      .dynamiq()
      .updateConnection(id, { type: news.type, config: news.config }, valuesToRedact(news.config));
    const outs = outputsOf(rec, news, olds);
    if (rec.status === "active") delete outs.authorizationUrl;
    else if (isOAuthType(rec.type) && !outs.authorizationUrl)
      outs.authorizationUrl = await authorizationUrl(ctx, id, rec);
    return outs;
  },

  async delete(ctx, id) {
    try {
      await ctx.dynamiq().deleteConnection(id);
    } catch (e) {
      if (e instanceof ConflictError) {
        throw new ProviderError(
          "conflict",
          `dynamiq: connection ${id} is still in use and the platform refuses to delete it; remove it from the workflows, Knowledge Bases and Apps that reference it, then run again (${e.message})`,
        );
      }
      throw e;
    }
  },
};

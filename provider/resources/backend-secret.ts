// DYPAI Backend Secret: one named, write-only secret of an engine (`/api/engine/{id}/secrets`).
//
// - A new value is an overwrite in place (update), never a replace: a create-before-delete replace of a secret
//   keyed by name would write the new value and then delete it (field-lessons.md).
// - A new name or engine replaces, create-before-delete. The new secret is at another (engine, name) by
//   construction, and the delete half removes the old one only while the platform's version is still the one our
//   own write produced (checked by a GET, then sent as a precondition of the DELETE): a secret at that
//   (engine, name) written since — by another resource of the same run that took the name over, or by anyone —
//   is never removed.
// - Values cannot be read back. Refresh detects what can be detected: a 404 drops the resource from state (the
//   next up writes it again); a version other than ours means it was overwritten out of band, which plans an
//   update that writes the declared value again. Whether an overwrite out of band wrote the same value, or
//   what it wrote, cannot be known.
import type { z as Z } from "zod";
import { ProviderError, type InputFailure } from "../errors";
import type { SecretMeta } from "../clients/dypai";
import { changedKeys, unlessGone, type ResourceDefinition } from "../resource";
import { failuresOf, userInputs } from "../validate";

export interface BackendSecretInputs {
  /** The engine the secret belongs to; changing it replaces the resource. */
  engineId: string;
  /** The name workflows read it by (`${ secrets.NAME }`); changing it replaces the resource. */
  name: string;
  /** The value; a secret in state, never read back from the platform. */
  value: string;
}

export interface BackendSecretOutputs extends BackendSecretInputs {
  /** The platform's version of the secret right after our last write. */
  version: number;
  createdAt?: string;
  updatedAt?: string;
  /** The version found by the last refresh, when it is not ours: the secret was overwritten out of band. */
  platformVersion?: number;
}

const ENGINE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
export const SECRET_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export const MAX_SECRET_VALUE = 64 * 1024;

let schema: Z.ZodType | undefined;
function inputSchema(): Z.ZodType {
  if (schema) return schema;
  const { z } = require("zod") as typeof import("zod");
  schema = z.strictObject({
    engineId: z
      .string()
      .regex(ENGINE_ID_RE, "must be a DYPAI engine id (letters, digits, - and _, up to 128)"),
    name: z
      .string()
      .regex(
        SECRET_NAME_RE,
        "must be a secret name usable as ${ secrets.NAME }: letters, digits and _, not starting with a digit, at most 128 characters",
      ),
    // Never quote the value in a reason: it is a secret.
    value: z
      .string()
      .min(1, "must not be empty")
      .max(MAX_SECRET_VALUE, `must be at most ${MAX_SECRET_VALUE} characters`)
      .refine((s) => !s.includes("\u0000") && s.isWellFormed(), "must not contain NUL or invalid unicode"),
  });
  return schema;
}

function check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
  const inputs = userInputs(news);
  const failures: InputFailure[] = failuresOf(inputSchema(), inputs, "");
  return { inputs: inputs as unknown as BackendSecretInputs, failures };
}

export function secretId(engineId: string, name: string): string {
  return `${engineId}/${name}`;
}

/** The engine and name of a secret id (`<engineId>/<name>`), as `BackendSecret.get` is given it. */
function secretAddress(id: string): { engineId: string; name: string } {
  const slash = id.indexOf("/");
  if (slash <= 0 || slash === id.length - 1) {
    throw new ProviderError(
      "invalid_input",
      `dypai: "${id}" is not a backend secret id: expected <engineId>/<name>`,
    );
  }
  return { engineId: id.slice(0, slash), name: id.slice(slash + 1) };
}

function outputsOf(inputs: BackendSecretInputs, meta: SecretMeta): BackendSecretOutputs {
  const out: BackendSecretOutputs = {
    engineId: inputs.engineId,
    name: inputs.name,
    value: inputs.value,
    version: meta.version,
  };
  if (meta.created_at) out.createdAt = meta.created_at;
  if (meta.updated_at) out.updatedAt = meta.updated_at;
  return out;
}

export const backendSecret: ResourceDefinition<BackendSecretInputs, BackendSecretOutputs> = {
  type: "BackendSecret",
  platform: "dypai",
  check,

  diff(_id, olds, news) {
    const replaces = changedKeys(olds as BackendSecretInputs, news, ["engineId", "name"]);
    const diffs = [...replaces, ...changedKeys(olds as BackendSecretInputs, news, ["value"])];
    // Overwritten out of band (found by refresh): write the declared value again, in place.
    if (
      olds.platformVersion !== undefined &&
      olds.platformVersion !== olds.version &&
      !diffs.includes("value")
    ) {
      diffs.push("value");
    }
    // Create-before-delete: the replacement is at another (engine, name), and the delete half is guarded.
    return { changes: diffs.length > 0, replaces, diffs };
  },

  async create(ctx, inputs) {
    // The platform's only write is an overwrite: a secret of that name that exists already is taken over.
    const meta = await ctx.dypai().putSecret(inputs.engineId, inputs.name, inputs.value);
    return { id: secretId(inputs.engineId, inputs.name), outs: outputsOf(inputs, meta) };
  },

  async read(ctx, id, props) {
    // A lookup (`BackendSecret.get`) has nothing in state but the id.
    const lookup = props.engineId === undefined;
    const { engineId, name } = lookup ? secretAddress(id) : props;
    const meta = await unlessGone(ctx.dypai().getSecret(engineId, name));
    if (!meta) return null;
    if (lookup) {
      // The value is write-only on the platform: a looked-up secret has none.
      const { value: _, ...outs } = outputsOf({ engineId, name, value: "" }, meta);
      return { id, props: outs as BackendSecretOutputs };
    }
    const outs: BackendSecretOutputs = { ...props };
    if (meta.version !== props.version) outs.platformVersion = meta.version;
    else delete outs.platformVersion;
    return { id, props: outs };
  },

  async update(ctx, _id, _olds, news) {
    // engineId and name are unchanged here (they replace), so this overwrites the same secret in place.
    const meta = await ctx.dypai().putSecret(news.engineId, news.name, news.value);
    return outputsOf(news, meta);
  },

  async delete(ctx, _id, props) {
    const client = ctx.dypai();
    const meta = await unlessGone(client.getSecret(props.engineId, props.name));
    if (!meta) return; // already gone
    // Written since our last write (another resource took the name over, or someone overwrote it): not ours.
    if (props.version !== undefined && meta.version !== props.version) return;
    // The precondition closes the window between the GET and the DELETE; a mismatch means the same as above.
    await client.deleteSecret(props.engineId, props.name, props.version);
  },
};

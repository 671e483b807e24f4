import * as pulumi from "@pulumi/pulumi";
import type { AccessKeyInputs } from "../provider/resources/access-key";
import type { Rotation } from "../provider/rotation";
import { frontEnd } from "./frontend";

/** Arguments of an {@link AccessKey}. */
export interface AccessKeyArgs {
  /** The organisation the key belongs to. */
  orgId: pulumi.Input<string>;
  /** Scope the key to one project; omit for an organisation-wide key. */
  projectId?: pulumi.Input<string>;
  /** Display name (documented rule: up to 128 characters, letters/digits at both ends). Defaults to the resource name. */
  name?: pulumi.Input<string>;
  /** A fixed expiry, RFC 3339, in the future. */
  expiresAt?: pulumi.Input<string>;
  /** A rolling expiry: each key (the first and every rotated one) expires this many days after its creation. */
  expiresInDays?: pulumi.Input<number>;
  /** When to replace the key: by age, before expiry, or when `trigger` changes. */
  rotation?: pulumi.Input<pulumi.Unwrap<Rotation>>;
  /** Adopt an existing key by id instead of creating one. Its secret cannot be recovered: `key` stays empty. */
  adoptId?: pulumi.Input<string>;
}

const provider = frontEnd("AccessKey");

/**
 * A Dynamiq Access Key. The secret `key` is returned once, at creation, and kept as a secret output. Any change
 * of a platform field, and any due rotation, replaces the key: the new key is created and handed to every
 * dependent resource before the old key is revoked.
 */
export class AccessKey extends pulumi.dynamic.Resource {
  declare readonly orgId: pulumi.Output<string>;
  declare readonly projectId: pulumi.Output<string | undefined>;
  declare readonly name: pulumi.Output<string>;
  /** The full secret (`dynamiq_acc_...`); a secret output. Empty for adopted keys. */
  declare readonly key: pulumi.Output<string>;
  /** The platform's short preview of the secret, safe to show. */
  declare readonly preview: pulumi.Output<string>;
  declare readonly expiresAt: pulumi.Output<string | undefined>;
  declare readonly expiresInDays: pulumi.Output<number | undefined>;
  declare readonly createdAt: pulumi.Output<string>;
  declare readonly createdBy: pulumi.Output<string | undefined>;
  declare readonly rotation: pulumi.Output<Rotation | undefined>;

  constructor(name: string, args: AccessKeyArgs, opts?: pulumi.CustomResourceOptions) {
    const inputs: Record<keyof AccessKeyInputs, unknown> = {
      orgId: args.orgId,
      projectId: args.projectId,
      name: args.name ?? name,
      expiresAt: args.expiresAt,
      expiresInDays: args.expiresInDays,
      rotation: args.rotation,
      adoptId: args.adoptId,
    };
    super(
      provider,
      name,
      { ...inputs, key: undefined, preview: undefined, createdAt: undefined, createdBy: undefined },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "key"] },
      "dynamiq",
      "AccessKey",
    );
  }
}

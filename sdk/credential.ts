import * as pulumi from "@pulumi/pulumi";
import type { CredentialInputs } from "../provider/resources/credential";
import type { Rotation } from "../provider/rotation";
import { registration, type ProviderStub } from "./stub";

/** Arguments both credential kinds take ({@link AccessKeyArgs} adds the organisation and project). */
export interface CredentialArgs {
  /** Display name (documented rule: up to 128 characters, letters/digits at both ends). Defaults to the resource name. */
  name?: pulumi.Input<string>;
  /** A fixed expiry, RFC 3339, in the future. */
  expiresAt?: pulumi.Input<string>;
  /** A rolling expiry: each credential (the first and every rotated one) expires this many days after its creation. */
  expiresInDays?: pulumi.Input<number>;
  /** When to replace the credential: by age, before expiry, or when `trigger` changes. */
  rotation?: pulumi.Input<pulumi.Unwrap<Rotation>>;
  /** Adopt an existing credential by id instead of creating one. Its secret cannot be recovered: `key` stays empty. */
  adoptId?: pulumi.Input<string>;
}

/**
 * What Access Keys and Personal Access Tokens share: the secret `key` is returned once, at creation, and kept as
 * a secret output; every change of a platform field, and any due rotation, is a create-before-delete replacement.
 */
export abstract class Credential extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  /** The full secret; a secret output. Empty for adopted credentials. */
  declare readonly key: pulumi.Output<string>;
  /** The platform's short preview of the secret, safe to show. */
  declare readonly preview: pulumi.Output<string>;
  declare readonly expiresAt: pulumi.Output<string | undefined>;
  declare readonly expiresInDays: pulumi.Output<number | undefined>;
  declare readonly createdAt: pulumi.Output<string>;
  declare readonly rotation: pulumi.Output<Rotation | undefined>;

  protected constructor(
    provider: ProviderStub,
    name: string,
    args: CredentialArgs,
    extra: Record<string, unknown>,
    opts: pulumi.CustomResourceOptions | undefined,
  ) {
    const common: Record<keyof CredentialInputs, unknown> = {
      name: args.name ?? name,
      expiresAt: args.expiresAt,
      expiresInDays: args.expiresInDays,
      rotation: args.rotation,
      adoptId: args.adoptId,
    };
    super(
      provider,
      name,
      registration(
        { ...extra, ...common, key: undefined, preview: undefined, createdAt: undefined },
        opts,
        args,
      ),
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "key"] },
      "dynamiq",
      provider.kind,
    );
  }
}

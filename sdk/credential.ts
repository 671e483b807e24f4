import * as pulumi from "@pulumi/pulumi";
import type { CredentialInputs, Rotation } from "../provider/resources/credential";
import { registration, type Args, type ProviderStub } from "./stub";

/**
 * Arguments both credential kinds take ({@link AccessKeyArgs} adds the organisation and project): their
 * provider's inputs, each of which may be an Output; `name` defaults to the Pulumi resource name.
 */
export interface CredentialArgs extends Omit<Args<CredentialInputs>, "name"> {
  name?: pulumi.Input<string>;
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

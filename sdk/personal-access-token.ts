import * as pulumi from "@pulumi/pulumi";
import type { PersonalAccessTokenInputs } from "../provider/resources/personal-access-token";
import type { Rotation } from "../provider/rotation";
import { frontEnd } from "./frontend";

/** Arguments of a {@link PersonalAccessToken}. */
export interface PersonalAccessTokenArgs {
  /** Display name (same rule as Access Keys). Defaults to the resource name. */
  name?: pulumi.Input<string>;
  expiresAt?: pulumi.Input<string>;
  /** A rolling expiry: each token expires this many days after its creation. */
  expiresInDays?: pulumi.Input<number>;
  rotation?: pulumi.Input<pulumi.Unwrap<Rotation>>;
  /** Adopt an existing token by id; its secret cannot be recovered. */
  adoptId?: pulumi.Input<string>;
}

const provider = frontEnd("PersonalAccessToken");

/**
 * A Dynamiq Personal Access Token of the user the provider authenticates as. Only a PAT may manage PATs.
 * Rotation works as for {@link AccessKey}; the provider refuses to revoke the token it is itself using.
 */
export class PersonalAccessToken extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  /** The full secret (`dyn_pat_...`); a secret output. */
  declare readonly key: pulumi.Output<string>;
  declare readonly preview: pulumi.Output<string>;
  declare readonly expiresAt: pulumi.Output<string | undefined>;
  declare readonly expiresInDays: pulumi.Output<number | undefined>;
  declare readonly createdAt: pulumi.Output<string>;
  declare readonly rotation: pulumi.Output<Rotation | undefined>;

  constructor(name: string, args: PersonalAccessTokenArgs = {}, opts?: pulumi.CustomResourceOptions) {
    const inputs: Record<keyof PersonalAccessTokenInputs, unknown> = {
      name: args.name ?? name,
      expiresAt: args.expiresAt,
      expiresInDays: args.expiresInDays,
      rotation: args.rotation,
      adoptId: args.adoptId,
    };
    super(
      provider,
      name,
      { ...inputs, key: undefined, preview: undefined, createdAt: undefined },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "key"] },
      "dynamiq",
      "PersonalAccessToken",
    );
  }
}

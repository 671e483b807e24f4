import type * as pulumi from "@pulumi/pulumi";
import { Credential, type CredentialArgs } from "./credential";
import { providerStub } from "./stub";

/** Arguments of a {@link PersonalAccessToken}: those of every credential. */
export type PersonalAccessTokenArgs = CredentialArgs;

const provider = providerStub("PersonalAccessToken");

/**
 * A Dynamiq Personal Access Token (`dyn_pat_...`) of the user the provider authenticates as. Only a PAT may
 * manage PATs. Rotation works as for {@link AccessKey}; the provider refuses to revoke the token it is itself
 * using.
 */
export class PersonalAccessToken extends Credential {
  /**
   * Reads an existing token of the provider's user into the program without managing it: destroying the stack
   * leaves it alone. `key` stays empty: the platform shows a token once. An id that does not exist fails the run.
   */
  static get(
    name: string,
    id: pulumi.Input<pulumi.ID>,
    opts?: pulumi.CustomResourceOptions,
  ): PersonalAccessToken {
    return new PersonalAccessToken(name, {}, { ...opts, id });
  }

  constructor(name: string, args: PersonalAccessTokenArgs = {}, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, args, {}, opts);
  }
}

import * as pulumi from "@pulumi/pulumi";
import type { AccessKeyInputs } from "../provider/resources/access-key";
import type { CredentialInputs } from "../provider/resources/credential";
import { Credential, type CredentialArgs } from "./credential";
import { providerStub, type Args } from "./stub";

/** Arguments of an {@link AccessKey}: those of every credential, and the organisation and project. */
export type AccessKeyArgs = CredentialArgs & Omit<Args<AccessKeyInputs>, keyof CredentialInputs>;

const provider = providerStub("AccessKey");

/**
 * A Dynamiq Access Key (`dynamiq_acc_...`). The secret `key` is returned once, at creation, and kept as a secret
 * output. Any change of a platform field, and any due rotation, replaces the key: the new key is created and
 * handed to every dependent resource before the old key is revoked.
 */
export class AccessKey extends Credential {
  declare readonly orgId: pulumi.Output<string>;
  declare readonly projectId: pulumi.Output<string | undefined>;
  declare readonly createdBy: pulumi.Output<string | undefined>;

  /**
   * Reads an existing Access Key into the program without managing it: destroying the stack leaves it alone.
   * `key` stays empty: the platform shows a key's secret once, to whoever created it. An id that does not exist
   * fails the run.
   */
  static get(name: string, id: pulumi.Input<pulumi.ID>, opts?: pulumi.CustomResourceOptions): AccessKey {
    return new AccessKey(name, {} as AccessKeyArgs, { ...opts, id });
  }

  constructor(name: string, args: AccessKeyArgs, opts?: pulumi.CustomResourceOptions) {
    const own: Record<Exclude<keyof AccessKeyInputs, keyof CredentialInputs>, unknown> = {
      orgId: args.orgId,
      projectId: args.projectId,
    };
    super(provider, name, args, { ...own, createdBy: undefined }, opts);
  }
}

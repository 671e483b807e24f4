import * as pulumi from "@pulumi/pulumi";
import type { BackendSecretInputs } from "../provider/resources/backend-secret";
import { providerStub, registration, type Args } from "./stub";

/** Arguments of a {@link BackendSecret}: its provider's inputs, each of which may be an Output. */
export type BackendSecretArgs = Args<BackendSecretInputs>;

const provider = providerStub("BackendSecret");

/**
 * A DYPAI Backend Secret of an engine. A new value overwrites it in place; a new name or engine replaces it,
 * and the old secret is deleted only if nobody wrote it since our own last write. Values are never read back:
 * a refresh notices a secret deleted (404) or overwritten (its version moved) out of band.
 */
export class BackendSecret extends pulumi.dynamic.Resource {
  declare readonly engineId: pulumi.Output<string>;
  declare readonly name: pulumi.Output<string>;
  /** A secret output. */
  declare readonly value: pulumi.Output<string>;
  /** The platform's version after our last write. */
  declare readonly version: pulumi.Output<number>;
  declare readonly createdAt: pulumi.Output<string | undefined>;
  declare readonly updatedAt: pulumi.Output<string | undefined>;
  /** Set by a refresh when the secret was overwritten out of band. */
  declare readonly platformVersion: pulumi.Output<number | undefined>;

  /**
   * Reads an existing backend secret into the program without managing it; the id is `<engineId>/<name>`, and
   * destroying the stack leaves the secret alone. `value` stays empty: the platform never returns it. A secret
   * that does not exist fails the run.
   */
  static get(name: string, id: pulumi.Input<pulumi.ID>, opts?: pulumi.CustomResourceOptions): BackendSecret {
    return new BackendSecret(name, {} as BackendSecretArgs, { ...opts, id });
  }

  constructor(name: string, args: BackendSecretArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      registration(
        {
          engineId: args.engineId,
          name: args.name,
          value: pulumi.secret(args.value),
          version: undefined,
          createdAt: undefined,
          updatedAt: undefined,
          platformVersion: undefined,
        },
        opts,
        {},
      ),
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "value"] },
      "dypai",
      "BackendSecret",
    );
  }
}

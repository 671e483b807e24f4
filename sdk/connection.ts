import * as pulumi from "@pulumi/pulumi";
import type { ConnectionInputs } from "../provider/resources/connection";
import { providerStub, registration, type Args } from "./stub";

/** Arguments of a {@link Connection}; `name` defaults to the Pulumi resource name. */
export interface ConnectionArgs extends Omit<Args<ConnectionInputs>, "name" | "config"> {
  name?: pulumi.Input<string>;
  /** Type-specific fields (see the connection type catalogue); stored as a secret. */
  config: pulumi.Input<Record<string, pulumi.Input<unknown>>>;
}

// One provider object per resource class: Pulumi caches its serialisation per object.
const provider = providerStub("Connection");

/**
 * A Dynamiq Connection: credentials and configuration for an external service, scoped to a project.
 * Changing `type` or `config` updates it in place; changing `name` or `projectId` replaces it.
 */
export class Connection extends pulumi.dynamic.Resource {
  declare readonly projectId: pulumi.Output<string>;
  declare readonly name: pulumi.Output<string>;
  declare readonly type: pulumi.Output<string>;
  /** The config as last written or read; a secret. */
  declare readonly config: pulumi.Output<Record<string, unknown>>;
  declare readonly checkSecretDrift: pulumi.Output<boolean | undefined>;
  /** `active`, `incomplete` (OAuth types until consent is given) or `expired`. */
  declare readonly status: pulumi.Output<string>;
  /** For OAuth types that are not authorised yet: the consent URL. */
  declare readonly authorizationUrl: pulumi.Output<string | undefined>;
  declare readonly createdAt: pulumi.Output<string>;

  /**
   * Reads an existing connection into the program without managing it: destroying the stack leaves it alone.
   * `config` holds only the fields the platform returns: never a secret field (API keys, passwords), which
   * the API does not return. An id that does not exist fails the run.
   */
  static get(name: string, id: pulumi.Input<pulumi.ID>, opts?: pulumi.CustomResourceOptions): Connection {
    return new Connection(name, {} as ConnectionArgs, { ...opts, id });
  }

  constructor(name: string, args: ConnectionArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      provider,
      name,
      registration(
        {
          projectId: args.projectId,
          name: args.name ?? name,
          type: args.type,
          config: pulumi.secret(args.config),
          checkSecretDrift: args.checkSecretDrift,
          adoptId: args.adoptId,
          status: undefined,
          authorizationUrl: undefined,
          createdAt: undefined,
        },
        opts,
        args,
      ),
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "config"] },
      "dynamiq",
      "Connection",
    );
  }
}

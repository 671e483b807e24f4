import * as pulumi from "@pulumi/pulumi";
import type { ServiceReference } from "../provider/clients/flightcontrol";
import type { ServiceEnvVariablesInputs } from "../provider/resources/service-env-variables";
import { providerStub, registration, type Args } from "./stub";

/** Arguments of a {@link ServiceEnvVariables}: every group is optional, as in the platform's API. */
export type ServiceEnvVariablesArgs = Args<ServiceEnvVariablesInputs>;

const provider = providerStub("ServiceEnvVariables");

/**
 * Environment variables of a Flightcontrol service. Only the declared names are managed: variables set elsewhere
 * on the service are left alone. Each change is one API call with exactly the changed names; FC-managed secrets
 * are stored asynchronously and waited for. Any change of names, groups or values updates in place; a new
 * `serviceId` replaces.
 */
export class ServiceEnvVariables extends pulumi.dynamic.Resource {
  declare readonly serviceId: pulumi.Output<string>;
  declare readonly plainText: pulumi.Output<Record<string, string> | undefined>;
  /** A secret output. */
  declare readonly parameterStore: pulumi.Output<Record<string, string> | undefined>;
  /** A secret output. */
  declare readonly secretsManager: pulumi.Output<Record<string, string> | undefined>;
  declare readonly fromParameterStore: pulumi.Output<Record<string, string> | undefined>;
  declare readonly fromSecretsManager: pulumi.Output<Record<string, string> | undefined>;
  declare readonly fromService: pulumi.Output<Record<string, ServiceReference> | undefined>;
  /** For each FC-managed secret, the parameter path or secret ARN Flightcontrol created. */
  declare readonly references: pulumi.Output<Record<string, string> | undefined>;
  /** FC-managed secrets a refresh found overwritten out of band (written again by the next up). */
  declare readonly changedOutOfBand: pulumi.Output<string[] | undefined>;
  /** The workflow run that stored FC-managed secrets last. */
  declare readonly lastRunId: pulumi.Output<string | undefined>;

  /**
   * Reads every environment variable of a Flightcontrol service into the program without managing any: the id
   * is the service id, and destroying the stack leaves the variables alone. Plain text variables and references
   * (`fromParameterStore`, `fromSecretsManager`, `fromService`) come with their values; FC-managed secrets only
   * with their parameter path or ARN in `references`, because the API never returns secret values. A service
   * that does not exist fails the run.
   */
  static get(
    name: string,
    serviceId: pulumi.Input<pulumi.ID>,
    opts?: pulumi.CustomResourceOptions,
  ): ServiceEnvVariables {
    return new ServiceEnvVariables(name, {} as ServiceEnvVariablesArgs, { ...opts, id: serviceId });
  }

  constructor(name: string, args: ServiceEnvVariablesArgs, opts?: pulumi.CustomResourceOptions) {
    const inputs: Record<keyof ServiceEnvVariablesInputs, unknown> = {
      serviceId: args.serviceId,
      plainText: args.plainText,
      parameterStore: args.parameterStore === undefined ? undefined : pulumi.secret(args.parameterStore),
      secretsManager: args.secretsManager === undefined ? undefined : pulumi.secret(args.secretsManager),
      fromParameterStore: args.fromParameterStore,
      fromSecretsManager: args.fromSecretsManager,
      fromService: args.fromService,
      timeoutSeconds: args.timeoutSeconds,
    };
    super(
      provider,
      name,
      registration(
        {
          ...inputs,
          references: undefined,
          versions: undefined,
          changedOutOfBand: undefined,
          lastRunId: undefined,
        },
        opts,
        {},
      ),
      {
        ...opts,
        additionalSecretOutputs: [
          ...(opts?.additionalSecretOutputs ?? []),
          "parameterStore",
          "secretsManager",
        ],
      },
      "flightcontrol",
      "ServiceEnvVariables",
    );
  }
}

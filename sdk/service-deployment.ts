import * as pulumi from "@pulumi/pulumi";
import type { ServiceDeploymentInputs } from "../provider/resources/service-deployment";
import { providerStub, registration, type Args } from "./stub";

/** Arguments of a {@link ServiceDeployment}: its provider's inputs, each of which may be an Output. */
export type ServiceDeploymentArgs = Args<ServiceDeploymentInputs>;

const provider = providerStub("ServiceDeployment");

/**
 * A deployment of a Dynamiq service. A deploy is the platform's unit of change, so changing the image,
 * resources or any variable is a new deployment (a replacement); nothing is deployed when nothing changed.
 * Destroying it makes no API call: the service keeps running its newest deployment.
 */
export class ServiceDeployment extends pulumi.dynamic.Resource {
  declare readonly serviceId: pulumi.Output<string>;
  declare readonly image: pulumi.Output<string>;
  declare readonly env: pulumi.Output<Record<string, string> | undefined>;
  declare readonly secretEnv: pulumi.Output<Record<string, string> | undefined>;
  declare readonly status: pulumi.Output<string>;
  /** The deployment the service runs now; differs from `id` when someone deployed since. */
  declare readonly activeDeploymentId: pulumi.Output<string | undefined>;
  declare readonly createdAt: pulumi.Output<string | undefined>;

  /**
   * Reads an existing deployment of a service into the program without managing it: destroying the stack
   * leaves it (and the service) alone. `env` holds the plain variables; `secretEnv` stays empty, because the
   * platform never returns secret values. An id that does not exist fails the run.
   */
  static get(
    name: string,
    id: pulumi.Input<pulumi.ID>,
    state: { serviceId: pulumi.Input<string> },
    opts?: pulumi.CustomResourceOptions,
  ): ServiceDeployment {
    return new ServiceDeployment(name, { serviceId: state.serviceId } as ServiceDeploymentArgs, {
      ...opts,
      id,
    });
  }

  constructor(name: string, args: ServiceDeploymentArgs, opts?: pulumi.CustomResourceOptions) {
    const inputs: Record<keyof ServiceDeploymentInputs, unknown> = {
      serviceId: args.serviceId,
      image: args.image,
      resources: args.resources,
      env: args.env,
      secretEnv: args.secretEnv === undefined ? undefined : pulumi.secret(args.secretEnv),
      timeoutSeconds: args.timeoutSeconds,
      adoptId: args.adoptId,
    };
    super(
      provider,
      name,
      registration(
        { ...inputs, status: undefined, activeDeploymentId: undefined, createdAt: undefined },
        opts,
        args,
      ),
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "secretEnv"] },
      "dynamiq",
      "ServiceDeployment",
    );
  }
}

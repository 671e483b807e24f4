import * as pulumi from "@pulumi/pulumi";
import type { ServiceDeploymentInputs } from "../provider/resources/service-deployment";
import { frontEnd, registered } from "./frontend";

/** Arguments of a {@link ServiceDeployment}. */
export interface ServiceDeploymentArgs {
  serviceId: pulumi.Input<string>;
  image: pulumi.Input<string>;
  resources?: pulumi.Input<pulumi.Unwrap<NonNullable<ServiceDeploymentInputs["resources"]>>>;
  /** Plain variables. */
  env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Secret variables: a Kubernetes Secret on the platform, a secret in state. */
  secretEnv?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** How long to wait for the deployment to finish (default 600). */
  timeoutSeconds?: pulumi.Input<number>;
  /** Adopt an existing deployment by id instead of deploying. Secret values cannot be read back. */
  adoptId?: pulumi.Input<string>;
}

const provider = frontEnd("ServiceDeployment");

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
      registered({ ...inputs, status: undefined, activeDeploymentId: undefined, createdAt: undefined }),
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "secretEnv"] },
      "dynamiq",
      "ServiceDeployment",
    );
  }
}

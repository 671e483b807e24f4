// The `pulumi-dynamiq/flightcontrol` entry point: the ServiceEnvVariables resource and the Flightcontrol
// provider class.
import type * as pulumi from "@pulumi/pulumi";
import { PlatformProvider, type InstanceSettings } from "./provider-instance";

export { ServiceEnvVariables, type ServiceEnvVariablesArgs } from "./service-env-variables";

/** Arguments of a Flightcontrol {@link Provider}. */
export interface ProviderArgs extends InstanceSettings {
  /** The Flightcontrol API key; stored as a secret. */
  apiKey: pulumi.Input<string>;
}

/**
 * An explicit Flightcontrol provider: its own API key and base URL. Pass it as `{ provider }` to
 * ServiceEnvVariables; without one they use `flightcontrol:apiKey` / FLIGHTCONTROL_API_KEY. An instance reads
 * only its arguments; a new key updates it in place and replaces none of its resources.
 */
export class Provider extends PlatformProvider {
  constructor(name: string, args: ProviderArgs, opts?: pulumi.ResourceOptions) {
    super("flightcontrol", name, { key: "apiKey", value: args?.apiKey }, args ?? {}, opts);
  }
}

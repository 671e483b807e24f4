// The `pulumi-dynamiq/dypai` entry point: the BackendSecret resource and the DYPAI provider class.
import type * as pulumi from "@pulumi/pulumi";
import { PlatformProvider, type InstanceSettings } from "./provider-instance";

export { BackendSecret, type BackendSecretArgs } from "./backend-secret";

/** Arguments of a DYPAI {@link Provider}. */
export interface ProviderArgs extends InstanceSettings {
  /** The DYPAI API token; stored as a secret. */
  token: pulumi.Input<string>;
  /** The DYPAI API's base URL (there is no public default). */
  baseUrl: pulumi.Input<string>;
}

/**
 * An explicit DYPAI provider: its own token and base URL. Pass it as `{ provider }` to BackendSecret; without one
 * they use `dypai:token` / `dypai:baseUrl` or DYPAI_TOKEN / DYPAI_BASE_URL. An instance reads only its
 * arguments; a new token updates it in place and replaces none of its resources.
 */
export class Provider extends PlatformProvider {
  constructor(name: string, args: ProviderArgs, opts?: pulumi.ResourceOptions) {
    super("dypai", name, { key: "token", value: args?.token }, args ?? {}, opts);
  }
}

import type * as pulumi from "@pulumi/pulumi";
import { PlatformProvider, type InstanceSettings } from "./provider-instance";

/** Arguments of a Dynamiq {@link Provider}. */
export interface ProviderArgs extends InstanceSettings {
  /** A Personal Access Token (`dyn_pat_...`) of the organisation's user; stored as a secret. */
  token: pulumi.Input<string>;
}

/**
 * An explicit Dynamiq provider: its own token and base URL, e.g. one per organisation in one stack. Pass it as
 * `{ provider }` to Connection, AccessKey, PersonalAccessToken and ServiceDeployment; resources without one use
 * the stack config (`dynamiq:token`, ...) and the environment. An instance never reads stack config or the
 * environment: it has what its arguments give it. A new token or base URL updates the instance in place and
 * replaces none of its resources.
 *
 * ```ts
 * const prod = new dynamiq.Provider("prod", { token: config.requireSecret("prodToken") });
 * new dynamiq.Connection("openai", { ... }, { provider: prod });
 * ```
 */
export class Provider extends PlatformProvider {
  constructor(name: string, args: ProviderArgs, opts?: pulumi.ResourceOptions) {
    super("dynamiq", name, { key: "token", value: args?.token }, args ?? {}, opts);
  }
}

import * as pulumi from "@pulumi/pulumi";
import type { Platform } from "../provider/errors";
import { INSTANCE_NAME_KEY, INSTANCE_PLATFORM_KEY } from "../provider/settings";

/** The settings every platform's provider instance takes besides its credential. */
export interface InstanceSettings {
  /** The API's base URL; defaults to the platform's public API (DYPAI has none: required there). */
  baseUrl?: pulumi.Input<string>;
  /** Accept plain http to a host other than localhost. TLS verification is never turned off. */
  allowInsecureHttp?: pulumi.Input<boolean>;
}

/**
 * An explicit provider instance of one platform, e.g. one per Dynamiq organisation. Dynamic resources all belong
 * to Pulumi's `pulumi-nodejs` package, so every instance is a `pulumi:providers:pulumi-nodejs` resource: the
 * engine starts a provider host process per instance and hands it these inputs, which the host reads as the
 * instance's settings (provider/settings.ts). They are registered under the stack-config key names
 * (`dynamiq:token`, ...) because the host's config lookup only reads namespaced keys. The credential is a secret:
 * encrypted in state, never in `__provider`. Changing an instance's inputs updates it in place; the resources
 * under it are neither replaced nor touched.
 */
export class PlatformProvider extends pulumi.ProviderResource {
  /** The platform this instance calls: resources of another platform refuse it before any API call. */
  readonly platform: Platform;

  protected constructor(
    platform: Platform,
    name: string,
    credential: { key: string; value: pulumi.Input<string> | undefined },
    settings: InstanceSettings,
    opts?: pulumi.ResourceOptions,
  ) {
    super(
      "pulumi-nodejs",
      name,
      {
        [INSTANCE_PLATFORM_KEY]: platform,
        [INSTANCE_NAME_KEY]: name,
        [`${platform}:${credential.key}`]:
          credential.value === undefined ? undefined : pulumi.secret(credential.value),
        [`${platform}:baseUrl`]: settings.baseUrl,
        [`${platform}:allowInsecureHttp`]: settings.allowInsecureHttp,
      },
      opts,
    );
    this.platform = platform;
  }
}

// The Pulumi front-end: maps the dynamic-provider calls onto the resource definitions. It runs inside Pulumi's
// dynamic-provider host, loaded by `require("pulumi-dynamiq/provider")` from the serialised `__provider`.
import type * as pulumi from "@pulumi/pulumi";
import { dynamiqClient, type DynamiqClient } from "./clients/dynamiq";
import { dypaiClient, type DypaiClient } from "./clients/dypai";
import { flightcontrolClient, type FlightcontrolClient } from "./clients/flightcontrol";
import { watchEngine } from "./engine";
import { ProviderError } from "./errors";
import { LOOKUP_KEY } from "./lookup";
import {
  checkProviderInstance,
  configure as configureSettings,
  dynamiqSettings,
  type ConfigSource,
} from "./settings";
import type { ResourceContext } from "./resource";
import { DEFINITIONS } from "./registry";

// What this host's configuration gives, each built at its first use (a stack that sets a platform's settings
// only for `up` still previews) and then kept: a host process is configured once, and building a client reads
// and checks the settings, which a refresh of many resources would otherwise repeat for every read.
let built: {
  dynamiq?: DynamiqClient;
  credential?: { value: string; setting: string };
  flightcontrol?: FlightcontrolClient;
  dypai?: DypaiClient;
} = {};

function ownCredential(): { value: string; setting: string } {
  const s = dynamiqSettings();
  return { value: s.credential, setting: s.credentialSetting ?? "dynamiq:token" };
}

const context: ResourceContext = {
  dynamiq: () => (built.dynamiq ??= dynamiqClient()),
  dynamiqCredential: () => (built.credential ??= ownCredential()),
  flightcontrol: () => (built.flightcontrol ??= flightcontrolClient()),
  dypai: () => (built.dypai ??= dypaiClient()),
  now: () => new Date(),
};

/**
 * The props a definition sees, for every call: without the serialised provider and the lookup marker, which are
 * the host's. (The host puts `__provider` back into check's result itself.)
 */
function withoutProvider<T>(props: Record<string, unknown>): T {
  const { __provider: _, [LOOKUP_KEY]: __, ...rest } = props;
  return rest as T;
}

const providers = new Map<string, pulumi.dynamic.ResourceProvider>();

/** The dynamic provider for one resource kind ("Connection", ...). */
export function dynamicProvider(kind: string): pulumi.dynamic.ResourceProvider {
  const cached = providers.get(kind);
  if (cached) return cached;
  const def = DEFINITIONS[kind];
  if (!def) {
    throw new Error(
      `pulumi-dynamiq: this version of the package does not know the resource kind "${kind}"; install the version that wrote this state, or a newer one`,
    );
  }
  const provider: pulumi.dynamic.ResourceProvider = {
    async check(olds, news) {
      // A provider instance of another platform, or one missing its token, fails here: before any API call.
      checkProviderInstance(def.platform, kind);
      return def.check(withoutProvider(olds ?? {}), withoutProvider(news));
    },
    async diff(id, olds, news) {
      const d = def.diff(id, withoutProvider(olds), withoutProvider(news));
      return { changes: d.changes, replaces: d.replaces, deleteBeforeReplace: d.deleteBeforeReplace };
    },
    async create(inputs) {
      return def.create(context, withoutProvider(inputs));
    },
    async read(id, props) {
      const r = await def.read(context, id, withoutProvider(props ?? {}));
      if (!r && props?.[LOOKUP_KEY] === true) {
        throw new ProviderError(
          "not_found",
          `${def.platform}: ${kind} ${id} does not exist (looked up with ${kind}.get); check the id, and the provider's account`,
        );
      }
      // An empty id tells the engine the object is gone, and only a confirmed 404/410 gets here.
      return r ?? { id: "", props: {} };
    },
    async update(id, olds, news) {
      return { outs: await def.update(context, id, withoutProvider(olds), withoutProvider(news)) };
    },
    async delete(id, props) {
      await def.delete(context, id, withoutProvider(props));
    },
  };
  providers.set(kind, provider);
  return provider;
}

/** Called by the host's `configure()` with the stack configuration, before any other call. */
export function configure(config: ConfigSource | undefined): void {
  configureSettings(config);
  built = {};
  watchEngine();
}

// Provider configuration, read at call time. Nothing here is read at module scope or captured by the SDK:
// anything captured would be serialised into `__provider`, i.e. into state, in plaintext.
//
// Two sources, one per provider process (Pulumi starts a host process for the default provider and one for each
// explicit provider instance, and configures each once):
// - the default provider gets the whole stack config: `dynamiq:token`, ..., then the environment variables;
// - an explicit instance (sdk/provider-instance.ts) gets only its own arguments, registered under the same keys
//   plus two markers naming its platform and its name. It never falls back to stack config or the environment:
//   a resource given an instance uses exactly that instance's settings.
import { ConfigurationError, type Platform } from "./errors";

/** What Pulumi's dynamic-provider host hands to `configure()`: a lookup of provider config by "ns:key". */
export interface ConfigSource {
  get(key: string): string | undefined;
}

/** The marker keys an explicit provider instance registers besides its settings. */
export const INSTANCE_PLATFORM_KEY = "pulumi-dynamiq:platform";
export const INSTANCE_NAME_KEY = "pulumi-dynamiq:name";

// One shared holder: the host configures each resource class's provider separately, but they all share this
// module through require's cache, so the last configuration wins and every class sees it.
const holder: { config?: ConfigSource } = {};

export function configure(config: ConfigSource | undefined): void {
  holder.config = config;
}

/** Test hook: forget the stack configuration. */
export function resetConfiguration(): void {
  holder.config = undefined;
}

/** A config value as a string: the host hands booleans and numbers of an instance's arguments over unchanged. */
function configValue(key: string): string | undefined {
  const v: unknown = holder.config?.get(key);
  if (typeof v === "string") return v === "" ? undefined : v;
  if (typeof v === "boolean" || typeof v === "number") return String(v);
  return undefined;
}

/** The explicit provider instance this process was configured as, if any. */
export interface ProviderInstance {
  platform: Platform;
  name: string;
}

export function providerInstance(): ProviderInstance | undefined {
  const platform = configValue(INSTANCE_PLATFORM_KEY);
  if (platform === undefined) return undefined;
  return { platform: platform as Platform, name: configValue(INSTANCE_NAME_KEY) ?? "(unnamed)" };
}

/** How users write an instance in a program, for messages: `dynamiq.Provider "prod"`. */
export function describeInstance(instance: ProviderInstance): string {
  return `${instance.platform}.Provider "${instance.name}"`;
}

export interface PlatformSettings {
  platform: Platform;
  baseUrl: string;
  credential: string;
  /**
   * Where the credential is set, for messages that ask the user to change it: `dynamiq:token`, an environment
   * variable, or `the token of dynamiq.Provider "prod"`. Absent from settings built by hand (tools, tests).
   */
  credentialSetting?: string;
}

/** How one platform's settings are named: config keys under the platform's namespace, environment variables. */
interface SettingsSpec {
  platform: Platform;
  /** The credential's key: `token` or `apiKey` (stack config `<platform>:<key>`). */
  credentialKey: string;
  credentialEnv: string[];
  /** How to set the credential, for the error when there is none. */
  credentialHelp: string;
  baseUrlEnv: string[];
  /** No default: the base URL must be set (DYPAI has no published API host). */
  defaultBaseUrl?: string;
  baseUrlHelp?: string;
  insecureEnv: string;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/**
 * Refuses plain http to anything but loopback unless the user opted in; TLS checks are never turned off.
 * `optIn` says how to opt in, for the error (the stack config key by default).
 */
export function checkBaseUrl(
  platform: Platform,
  configKey: string,
  raw: string,
  allowInsecure: boolean,
  optIn = `set ${platform}:allowInsecureHttp=true`,
): string {
  const withScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(raw) ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigurationError(`${platform}: ${configKey} is not a valid URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigurationError(`${platform}: ${configKey} must be an https:// URL`);
  }
  if (url.protocol === "http:" && !LOOPBACK.has(url.hostname) && !allowInsecure) {
    throw new ConfigurationError(
      `${platform}: ${configKey} uses plain http to ${url.hostname}; use https, or ${optIn} to accept an unencrypted connection`,
    );
  }
  return url.toString().replace(/\/+$/, "");
}

/** A resource (of `kind`, when known) given an instance of another platform than its own. */
function wrongPlatform(platform: Platform, instance: ProviderInstance, kind: string): ConfigurationError {
  return new ConfigurationError(
    `${platform}: this ${kind} was given ${describeInstance(instance)}, a provider of another platform; give it a ${platform}.Provider, or none to use the stack config`,
  );
}

/** The settings of an explicit provider instance: its own arguments only. */
function instanceSettings(spec: SettingsSpec, instance: ProviderInstance): PlatformSettings {
  const { platform, credentialKey } = spec;
  const who = describeInstance(instance);
  if (instance.platform !== platform) throw wrongPlatform(platform, instance, "resource");
  const credential = configValue(`${platform}:${credentialKey}`);
  if (!credential) {
    throw new ConfigurationError(
      `${platform}: ${who} has no ${credentialKey}; set \`${credentialKey}\` in its arguments (a secret, e.g. config.requireSecret(...))`,
    );
  }
  const base = configValue(`${platform}:baseUrl`) ?? spec.defaultBaseUrl;
  if (!base) {
    throw new ConfigurationError(`${platform}: ${who} has no baseUrl; set \`baseUrl\` in its arguments`);
  }
  const baseUrl = checkBaseUrl(
    platform,
    `the baseUrl of ${who}`,
    base,
    configValue(`${platform}:allowInsecureHttp`) === "true",
    `set \`allowInsecureHttp: true\` in the arguments of ${who}`,
  );
  return { platform, baseUrl, credential, credentialSetting: `the ${credentialKey} of ${who}` };
}

/** The first value set: the config key, then each environment variable; with where it was found. */
function firstOf(
  configKey: string,
  envKeys: string[],
  env: NodeJS.ProcessEnv,
): { value: string; setting: string } | undefined {
  const fromConfig = configValue(configKey);
  if (fromConfig !== undefined) return { value: fromConfig, setting: configKey };
  for (const k of envKeys) {
    const v = env[k];
    if (typeof v === "string" && v !== "") return { value: v, setting: k };
  }
  return undefined;
}

/** The settings of the default provider: stack config first, then the environment. */
function stackSettings(spec: SettingsSpec, env: NodeJS.ProcessEnv): PlatformSettings {
  const { platform } = spec;
  const credential = firstOf(`${platform}:${spec.credentialKey}`, spec.credentialEnv, env);
  if (!credential) throw new ConfigurationError(`${platform}: ${spec.credentialHelp}`);
  const base = firstOf(`${platform}:baseUrl`, spec.baseUrlEnv, env)?.value ?? spec.defaultBaseUrl;
  if (!base) throw new ConfigurationError(`${platform}: ${spec.baseUrlHelp}`);
  const insecure = firstOf(`${platform}:allowInsecureHttp`, [spec.insecureEnv], env)?.value === "true";
  const baseUrl = checkBaseUrl(platform, `${platform}:baseUrl`, base, insecure);
  return { platform, baseUrl, credential: credential.value, credentialSetting: credential.setting };
}

function settingsOf(spec: SettingsSpec, env: NodeJS.ProcessEnv): PlatformSettings {
  const instance = providerInstance();
  return instance ? instanceSettings(spec, instance) : stackSettings(spec, env);
}

export const DYNAMIQ_DEFAULT_BASE_URL = "https://api.getdynamiq.ai";

const DYNAMIQ: SettingsSpec = {
  platform: "dynamiq",
  credentialKey: "token",
  credentialEnv: ["DYNAMIQ_API_TOKEN", "DYNAMIQ_API_KEY"],
  credentialHelp:
    "no credential configured; set a Personal Access Token with `pulumi config set --secret dynamiq:token <dyn_pat_...>` or the DYNAMIQ_API_TOKEN environment variable",
  baseUrlEnv: ["DYNAMIQ_API_BASE_URL", "DYNAMIQ_API_HOST"],
  defaultBaseUrl: DYNAMIQ_DEFAULT_BASE_URL,
  insecureEnv: "DYNAMIQ_ALLOW_INSECURE_HTTP",
};

/**
 * Dynamiq settings: those of the explicit provider instance, if any; otherwise stack config `dynamiq:token` /
 * `dynamiq:baseUrl` first, then the official CLI's environment variables (DYNAMIQ_API_TOKEN or DYNAMIQ_API_KEY,
 * DYNAMIQ_API_BASE_URL or DYNAMIQ_API_HOST).
 */
export function dynamiqSettings(env: NodeJS.ProcessEnv = process.env): PlatformSettings {
  return settingsOf(DYNAMIQ, env);
}

/** Management calls need a user's Personal Access Token; an Access Key would only earn a 403 later. */
export function requirePersonalAccessToken(settings: PlatformSettings): void {
  if (settings.credential.startsWith("dynamiq_acc_")) {
    throw new ConfigurationError(
      `dynamiq: the configured credential (${settings.credentialSetting ?? "the token given"}) is an Access Key (dynamiq_acc_...), which only calls deployed resources; the management API needs a Personal Access Token (dyn_pat_...)`,
    );
  }
}

export const FLIGHTCONTROL_DEFAULT_BASE_URL = "https://api.flightcontrol.dev";

const FLIGHTCONTROL: SettingsSpec = {
  platform: "flightcontrol",
  credentialKey: "apiKey",
  credentialEnv: ["FLIGHTCONTROL_API_KEY"],
  credentialHelp:
    "no API key configured; set it with `pulumi config set --secret flightcontrol:apiKey <key>` or the FLIGHTCONTROL_API_KEY environment variable",
  baseUrlEnv: ["FLIGHTCONTROL_BASE_URL"],
  defaultBaseUrl: FLIGHTCONTROL_DEFAULT_BASE_URL,
  insecureEnv: "FLIGHTCONTROL_ALLOW_INSECURE_HTTP",
};

/**
 * Flightcontrol settings: the explicit instance's, or stack config `flightcontrol:apiKey` /
 * `flightcontrol:baseUrl` first, then FLIGHTCONTROL_API_KEY / FLIGHTCONTROL_BASE_URL (and
 * FLIGHTCONTROL_ALLOW_INSECURE_HTTP).
 */
export function flightcontrolSettings(env: NodeJS.ProcessEnv = process.env): PlatformSettings {
  return settingsOf(FLIGHTCONTROL, env);
}

const DYPAI: SettingsSpec = {
  platform: "dypai",
  credentialKey: "token",
  credentialEnv: ["DYPAI_TOKEN"],
  credentialHelp:
    "no token configured; set it with `pulumi config set --secret dypai:token <token>` or the DYPAI_TOKEN environment variable",
  baseUrlEnv: ["DYPAI_BASE_URL"],
  baseUrlHelp:
    "no API address configured; set it with `pulumi config set dypai:baseUrl https://<your DYPAI host>` or the DYPAI_BASE_URL environment variable",
  insecureEnv: "DYPAI_ALLOW_INSECURE_HTTP",
};

/**
 * DYPAI settings: the explicit instance's, or stack config `dypai:token` / `dypai:baseUrl` first, then
 * DYPAI_TOKEN / DYPAI_BASE_URL (and DYPAI_ALLOW_INSECURE_HTTP). There is no published API host, so the base URL
 * has no default.
 */
export function dypaiSettings(env: NodeJS.ProcessEnv = process.env): PlatformSettings {
  return settingsOf(DYPAI, env);
}

const SETTINGS_OF: Record<Platform, (env?: NodeJS.ProcessEnv) => PlatformSettings> = {
  dynamiq: dynamiqSettings,
  flightcontrol: flightcontrolSettings,
  dypai: dypaiSettings,
};

/**
 * Checks, before any API call, that an explicit provider instance can serve a resource of `platform`: it is of
 * that platform and has its credential (and base URL). The default provider keeps reading its settings at call
 * time, so a stack that sets them in the environment only for `up` still previews.
 */
export function checkProviderInstance(platform: Platform, kind: string): void {
  const instance = providerInstance();
  if (!instance) return;
  if (instance.platform !== platform) throw wrongPlatform(platform, instance, kind);
  SETTINGS_OF[platform]();
}

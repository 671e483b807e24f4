// Provider configuration, read at call time. Nothing here is read at module scope or captured by the SDK:
// anything captured would be serialised into `__provider`, i.e. into state, in plaintext.
import { ConfigurationError, type Platform } from "./errors";

/** What Pulumi's dynamic-provider host hands to `configure()`: a lookup of stack config by "ns:key". */
export interface ConfigSource {
  get(key: string): string | undefined;
}

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

function lookup(
  configKey: string,
  envKeys: string[],
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const fromConfig = holder.config?.get(configKey);
  if (typeof fromConfig === "string" && fromConfig !== "") return fromConfig;
  for (const k of envKeys) {
    const v = env[k];
    if (typeof v === "string" && v !== "") return v;
  }
  return undefined;
}

export interface PlatformSettings {
  platform: Platform;
  baseUrl: string;
  credential: string;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** Refuses plain http to anything but loopback unless the user opted in; TLS checks are never turned off. */
export function checkBaseUrl(
  platform: Platform,
  configKey: string,
  raw: string,
  allowInsecure: boolean,
): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(`${platform}: ${configKey} is not a valid URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigurationError(`${platform}: ${configKey} must be an https:// URL`);
  }
  if (url.protocol === "http:" && !LOOPBACK.has(url.hostname) && !allowInsecure) {
    throw new ConfigurationError(
      `${platform}: ${configKey} uses plain http to ${url.hostname}; use https, or set ${platform}:allowInsecureHttp=true to accept an unencrypted connection`,
    );
  }
  return url.toString().replace(/\/+$/, "");
}

export const DYNAMIQ_DEFAULT_BASE_URL = "https://api.getdynamiq.ai";

/**
 * Dynamiq settings: stack config `dynamiq:token` / `dynamiq:baseUrl` first, then the official CLI's environment
 * variables (DYNAMIQ_API_TOKEN or DYNAMIQ_API_KEY, DYNAMIQ_API_BASE_URL or DYNAMIQ_API_HOST).
 */
export function dynamiqSettings(env: NodeJS.ProcessEnv = process.env): PlatformSettings {
  const token = lookup("dynamiq:token", ["DYNAMIQ_API_TOKEN", "DYNAMIQ_API_KEY"], env);
  if (!token) {
    throw new ConfigurationError(
      "dynamiq: no credential configured; set a Personal Access Token with `pulumi config set --secret dynamiq:token <dyn_pat_...>` or the DYNAMIQ_API_TOKEN environment variable",
    );
  }
  const base =
    lookup("dynamiq:baseUrl", ["DYNAMIQ_API_BASE_URL", "DYNAMIQ_API_HOST"], env) ?? DYNAMIQ_DEFAULT_BASE_URL;
  const insecure = lookup("dynamiq:allowInsecureHttp", ["DYNAMIQ_ALLOW_INSECURE_HTTP"], env) === "true";
  const baseUrl = checkBaseUrl(
    "dynamiq",
    "dynamiq:baseUrl",
    /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(base) ? base : `https://${base}`,
    insecure,
  );
  return { platform: "dynamiq", baseUrl, credential: token };
}

/** Management calls need a user's Personal Access Token; an Access Key would only earn a 403 later. */
export function requirePersonalAccessToken(settings: PlatformSettings): void {
  if (settings.credential.startsWith("dynamiq_acc_")) {
    throw new ConfigurationError(
      "dynamiq: the configured credential is an Access Key (dynamiq_acc_...), which only calls deployed resources; the management API needs a Personal Access Token (dyn_pat_...) in dynamiq:token or DYNAMIQ_API_TOKEN",
    );
  }
}

export const FLIGHTCONTROL_DEFAULT_BASE_URL = "https://api.flightcontrol.dev";

/**
 * Flightcontrol settings: stack config `flightcontrol:apiKey` / `flightcontrol:baseUrl` first, then the
 * environment variables FLIGHTCONTROL_API_KEY / FLIGHTCONTROL_BASE_URL (and FLIGHTCONTROL_ALLOW_INSECURE_HTTP).
 */
export function flightcontrolSettings(env: NodeJS.ProcessEnv = process.env): PlatformSettings {
  const apiKey = lookup("flightcontrol:apiKey", ["FLIGHTCONTROL_API_KEY"], env);
  if (!apiKey) {
    throw new ConfigurationError(
      "flightcontrol: no API key configured; set it with `pulumi config set --secret flightcontrol:apiKey <key>` or the FLIGHTCONTROL_API_KEY environment variable",
    );
  }
  const base =
    lookup("flightcontrol:baseUrl", ["FLIGHTCONTROL_BASE_URL"], env) ?? FLIGHTCONTROL_DEFAULT_BASE_URL;
  const insecure =
    lookup("flightcontrol:allowInsecureHttp", ["FLIGHTCONTROL_ALLOW_INSECURE_HTTP"], env) === "true";
  const baseUrl = checkBaseUrl(
    "flightcontrol",
    "flightcontrol:baseUrl",
    /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(base) ? base : `https://${base}`,
    insecure,
  );
  return { platform: "flightcontrol", baseUrl, credential: apiKey };
}

/**
 * DYPAI settings: stack config `dypai:token` / `dypai:baseUrl` first, then DYPAI_TOKEN / DYPAI_BASE_URL (and
 * DYPAI_ALLOW_INSECURE_HTTP). There is no published API host, so the base URL has no default.
 */
export function dypaiSettings(env: NodeJS.ProcessEnv = process.env): PlatformSettings {
  const token = lookup("dypai:token", ["DYPAI_TOKEN"], env);
  if (!token) {
    throw new ConfigurationError(
      "dypai: no token configured; set it with `pulumi config set --secret dypai:token <token>` or the DYPAI_TOKEN environment variable",
    );
  }
  const base = lookup("dypai:baseUrl", ["DYPAI_BASE_URL"], env);
  if (!base) {
    throw new ConfigurationError(
      "dypai: no API address configured; set it with `pulumi config set dypai:baseUrl https://<your DYPAI host>` or the DYPAI_BASE_URL environment variable",
    );
  }
  const insecure = lookup("dypai:allowInsecureHttp", ["DYPAI_ALLOW_INSECURE_HTTP"], env) === "true";
  const baseUrl = checkBaseUrl(
    "dypai",
    "dypai:baseUrl",
    /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(base) ? base : `https://${base}`,
    insecure,
  );
  return { platform: "dypai", baseUrl, credential: token };
}

// The bad-input matrix: invalid inputs across every resource, each rejected at check with the property path and
// the rule, through the provider's own front-end (provider/dynamic.ts), configured against a live emulator whose
// request log proves that the case made no API call (and its request counter, that the whole matrix made none).
// One test per case, so that one failing case does not hide the others.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../emulator/server";
import { dynamicProvider } from "../../provider/dynamic";
import { UNKNOWN } from "../../provider/resource";
import { configure, resetConfiguration } from "../../provider/settings";
import { LeakAudit } from "../support/leaks";

const ORG = "11111111-2222-4333-8444-555555555555";
const PROJECT = "66666666-7777-4888-9999-aaaaaaaaaaaa";
const SERVICE = "77777777-8888-4999-aaaa-bbbbbbbbbbbb";
const ENGINE = "7d1c9a8e-0f2b-4c3d-9e8f-1a2b3c4d5e6f";
const PAST = "2001-01-01T00:00:00Z";
const SECRET = "s3cret-value-never-quoted";

interface Case {
  why: string;
  kind: string;
  inputs: Record<string, unknown>;
  property: string;
  rule: RegExp;
  olds?: Record<string, unknown>;
}

const ak = (o: Record<string, unknown>) => ({ orgId: ORG, projectId: PROJECT, name: "backend", ...o });
const pat = (o: Record<string, unknown>) => ({ name: "ci", expiresInDays: 30, ...o });
const conn = (o: Record<string, unknown>) => ({
  projectId: PROJECT,
  name: "openai",
  type: "dynamiq.connections.OpenAI",
  config: { api_key: SECRET },
  ...o,
});
const dep = (o: Record<string, unknown>) => ({
  serviceId: SERVICE,
  image: "registry.example.com/app:1",
  ...o,
});
const fc = (o: Record<string, unknown>) => ({ serviceId: "svc_123", ...o });
const dy = (o: Record<string, unknown>) => ({ engineId: ENGINE, name: "SIGNING_KEY", value: SECRET, ...o });
const omit = (o: Record<string, unknown>, k: string) => {
  const { [k]: _, ...rest } = o;
  return rest;
};
const NAME_RULE = /start and end with a letter or digit/;

export const CASES: Case[] = [
  // AccessKey
  { why: "empty name", kind: "AccessKey", inputs: ak({ name: "" }), property: "name", rule: NAME_RULE },
  {
    why: "name starts with -",
    kind: "AccessKey",
    inputs: ak({ name: "-x" }),
    property: "name",
    rule: NAME_RULE,
  },
  {
    why: "name ends with .",
    kind: "AccessKey",
    inputs: ak({ name: "x." }),
    property: "name",
    rule: NAME_RULE,
  },
  {
    why: "name > 128",
    kind: "AccessKey",
    inputs: ak({ name: "x".repeat(129) }),
    property: "name",
    rule: /128/,
  },
  {
    why: "name with a tab",
    kind: "AccessKey",
    inputs: ak({ name: "a\tb" }),
    property: "name",
    rule: NAME_RULE,
  },
  {
    why: "non-ASCII name",
    kind: "AccessKey",
    inputs: ak({ name: "ключ" }),
    property: "name",
    rule: NAME_RULE,
  },
  {
    why: "NUL in name",
    kind: "AccessKey",
    inputs: ak({ name: "a\u0000b" }),
    property: "name",
    rule: NAME_RULE,
  },
  {
    why: "lone surrogate (not UTF-8)",
    kind: "AccessKey",
    inputs: ak({ name: "a\ud800b" }),
    property: "name",
    rule: NAME_RULE,
  },
  {
    why: "name of wrong type",
    kind: "AccessKey",
    inputs: ak({ name: 42 }),
    property: "name",
    rule: /string/i,
  },
  {
    why: "missing orgId",
    kind: "AccessKey",
    inputs: omit(ak({}), "orgId"),
    property: "orgId",
    rule: /required/,
  },
  {
    why: "orgId not a UUID",
    kind: "AccessKey",
    inputs: ak({ orgId: "org-1" }),
    property: "orgId",
    rule: /UUID/,
  },
  {
    why: "projectId not a UUID",
    kind: "AccessKey",
    inputs: ak({ projectId: "p" }),
    property: "projectId",
    rule: /UUID/,
  },
  {
    why: "expiry in the past",
    kind: "AccessKey",
    inputs: ak({ expiresAt: PAST }),
    property: "expiresAt",
    rule: /future/,
  },
  {
    why: "expiry not RFC 3339",
    kind: "AccessKey",
    inputs: ak({ expiresAt: "2026-12-31" }),
    property: "expiresAt",
    rule: /RFC 3339/,
  },
  {
    why: "zero days",
    kind: "AccessKey",
    inputs: ak({ expiresInDays: 0 }),
    property: "expiresInDays",
    rule: /greater than 0/,
  },
  {
    why: "fractional days",
    kind: "AccessKey",
    inputs: ak({ expiresInDays: 1.5 }),
    property: "expiresInDays",
    rule: /whole/,
  },
  {
    why: "too many days",
    kind: "AccessKey",
    inputs: ak({ expiresInDays: 99_999 }),
    property: "expiresInDays",
    rule: /at most/,
  },
  {
    why: "two kinds of expiry",
    kind: "AccessKey",
    inputs: ak({ expiresInDays: 3, expiresAt: "2099-01-01T00:00:00Z" }),
    property: "expiresInDays",
    rule: /cannot be combined/,
  },
  {
    why: "renewal without expiry",
    kind: "AccessKey",
    inputs: ak({ rotation: { renewBeforeExpiryDays: 7 } }),
    property: "rotation.renewBeforeExpiryDays",
    rule: /needs an expiry/,
  },
  {
    why: "unknown rotation key",
    kind: "AccessKey",
    inputs: ak({ rotation: { every: 3 } }),
    property: "rotation.every",
    rule: /unknown/,
  },
  {
    why: "oversized trigger",
    kind: "AccessKey",
    inputs: ak({ rotation: { trigger: "t".repeat(2000) } }),
    property: "rotation.trigger",
    rule: /at most 1024/,
  },
  {
    why: "unknown key",
    kind: "AccessKey",
    inputs: ak({ description: "x" }),
    property: "description",
    rule: /unknown/,
  },
  {
    why: "empty adoptId",
    kind: "AccessKey",
    inputs: ak({ adoptId: "" }),
    property: "adoptId",
    rule: /empty/,
  },
  {
    why: "unknown name during preview does not hide a past expiry",
    kind: "AccessKey",
    inputs: ak({ name: UNKNOWN, expiresAt: PAST }),
    property: "expiresAt",
    rule: /future/,
  },
  // PersonalAccessToken
  {
    why: "empty name",
    kind: "PersonalAccessToken",
    inputs: pat({ name: "" }),
    property: "name",
    rule: NAME_RULE,
  },
  {
    why: "leading space",
    kind: "PersonalAccessToken",
    inputs: pat({ name: " ci" }),
    property: "name",
    rule: NAME_RULE,
  },
  {
    why: "missing name",
    kind: "PersonalAccessToken",
    inputs: omit(pat({}), "name"),
    property: "name",
    rule: /required/,
  },
  {
    why: "orgId on a token",
    kind: "PersonalAccessToken",
    inputs: pat({ orgId: ORG }),
    property: "orgId",
    rule: /unknown/,
  },
  {
    why: "expiry in the past",
    kind: "PersonalAccessToken",
    inputs: pat({ expiresInDays: undefined, expiresAt: PAST }),
    property: "expiresAt",
    rule: /future/,
  },
  {
    why: "negative days",
    kind: "PersonalAccessToken",
    inputs: pat({ expiresInDays: -3 }),
    property: "expiresInDays",
    rule: /greater than 0/,
  },
  {
    why: "days as a string",
    kind: "PersonalAccessToken",
    inputs: pat({ expiresInDays: "30" }),
    property: "expiresInDays",
    rule: /number of days/,
  },
  // Connection
  {
    why: "projectId not a UUID",
    kind: "Connection",
    inputs: conn({ projectId: "nope" }),
    property: "projectId",
    rule: /UUID/,
  },
  { why: "empty name", kind: "Connection", inputs: conn({ name: "" }), property: "name", rule: /empty/ },
  {
    why: "padded name",
    kind: "Connection",
    inputs: conn({ name: " x " }),
    property: "name",
    rule: /white space/,
  },
  {
    why: "name > 255",
    kind: "Connection",
    inputs: conn({ name: "n".repeat(256) }),
    property: "name",
    rule: /255/,
  },
  {
    why: "control character",
    kind: "Connection",
    inputs: conn({ name: "a\u0007b" }),
    property: "name",
    rule: /control/,
  },
  {
    why: "lone surrogate",
    kind: "Connection",
    inputs: conn({ name: "a\udc00" }),
    property: "name",
    rule: /unicode/,
  },
  {
    why: "type without class prefix",
    kind: "Connection",
    inputs: conn({ type: "OpenAI" }),
    property: "type",
    rule: /connection class/,
  },
  {
    why: "missing config",
    kind: "Connection",
    inputs: omit(conn({}), "config"),
    property: "config",
    rule: /required/,
  },
  {
    why: "config not an object",
    kind: "Connection",
    inputs: conn({ config: "x" }),
    property: "config",
    rule: /object|record/i,
  },
  {
    why: "secret field of wrong type",
    kind: "Connection",
    inputs: conn({ config: { api_key: 42 } }),
    property: "config.api_key",
    rule: /string/,
  },
  {
    why: "required config field missing",
    kind: "Connection",
    inputs: conn({ config: { url: "https://x" } }),
    property: "config.api_key",
    rule: /required/,
  },
  {
    why: "misspelt config key",
    kind: "Connection",
    inputs: conn({ config: { api_key: SECRET, api_kee: "x" } }),
    property: "config.api_kee",
    rule: /drop it silently/,
  },
  {
    why: "port as a string",
    kind: "Connection",
    inputs: conn({
      type: "dynamiq.connections.PostgreSQL",
      config: { host: "db", port: "5432", database: "d", user: "u", password: SECRET },
    }),
    property: "config.port",
    rule: /integer/,
  },
  {
    why: "checkSecretDrift not a boolean",
    kind: "Connection",
    inputs: conn({ checkSecretDrift: "yes" }),
    property: "checkSecretDrift",
    rule: /boolean/,
  },
  {
    why: "unknown key",
    kind: "Connection",
    inputs: conn({ region: "eu" }),
    property: "region",
    rule: /unknown/,
  },
  {
    why: "adoptId not a UUID",
    kind: "Connection",
    inputs: conn({ adoptId: "abc" }),
    property: "adoptId",
    rule: /UUID/,
  },
  // ServiceDeployment
  {
    why: "reserved env name",
    kind: "ServiceDeployment",
    inputs: dep({ env: { DYNAMIQ_SERVICE_ID: "x" } }),
    property: "env.DYNAMIQ_SERVICE_ID",
    rule: /reserved/,
  },
  {
    why: "reserved secret env name",
    kind: "ServiceDeployment",
    inputs: dep({ secretEnv: { DYNAMIQ_SERVICE_TOKEN: SECRET } }),
    property: "secretEnv.DYNAMIQ_SERVICE_TOKEN",
    rule: /reserved/,
  },
  {
    why: "env name starting with a digit",
    kind: "ServiceDeployment",
    inputs: dep({ env: { "1BAD": "x" } }),
    property: "env.1BAD",
    rule: /valid environment variable name/,
  },
  {
    why: "env name with a dash",
    kind: "ServiceDeployment",
    inputs: dep({ env: { "WITH-DASH": "x" } }),
    property: "env.WITH-DASH",
    rule: /valid environment variable name/,
  },
  {
    why: "name in both env groups",
    kind: "ServiceDeployment",
    inputs: dep({ env: { KEY: "a" }, secretEnv: { KEY: SECRET } }),
    property: "secretEnv.KEY",
    rule: /also declared in env/,
  },
  {
    why: "env value not a string",
    kind: "ServiceDeployment",
    inputs: dep({ env: { PORT: 8080 } }),
    property: "env.PORT",
    rule: /must be a string/,
  },
  {
    why: "oversized env value",
    kind: "ServiceDeployment",
    inputs: dep({ env: { BIG: "x".repeat(40_000) } }),
    property: "env.BIG",
    rule: /at most/,
  },
  {
    why: "NUL in an env value",
    kind: "ServiceDeployment",
    inputs: dep({ env: { X: "a\u0000b" } }),
    property: "env.X",
    rule: /NUL/,
  },
  {
    why: "secret value not UTF-8",
    kind: "ServiceDeployment",
    inputs: dep({ secretEnv: { S: "bad\ud800" } }),
    property: "secretEnv.S",
    rule: /unicode/,
  },
  {
    why: "reserved name with an unknown value during preview",
    kind: "ServiceDeployment",
    inputs: dep({ env: { DYNAMIQ_SERVICE_ID: UNKNOWN } }),
    property: "env.DYNAMIQ_SERVICE_ID",
    rule: /reserved/,
  },
  {
    why: "serviceId not a UUID",
    kind: "ServiceDeployment",
    inputs: dep({ serviceId: "svc" }),
    property: "serviceId",
    rule: /UUID/,
  },
  {
    why: "empty image",
    kind: "ServiceDeployment",
    inputs: dep({ image: "" }),
    property: "image",
    rule: /empty/,
  },
  {
    why: "image with a space",
    kind: "ServiceDeployment",
    inputs: dep({ image: "a b" }),
    property: "image",
    rule: /white space/,
  },
  {
    why: "missing image",
    kind: "ServiceDeployment",
    inputs: omit(dep({}), "image"),
    property: "image",
    rule: /required/,
  },
  {
    why: "bad CPU quantity",
    kind: "ServiceDeployment",
    inputs: dep({ resources: { limits: { cpu: "lots" } } }),
    property: "resources.limits.cpu",
    rule: /CPU quantity/,
  },
  {
    why: "zero timeout",
    kind: "ServiceDeployment",
    inputs: dep({ timeoutSeconds: 0 }),
    property: "timeoutSeconds",
    rule: /at least 1/,
  },
  {
    why: "huge timeout",
    kind: "ServiceDeployment",
    inputs: dep({ timeoutSeconds: 9000 }),
    property: "timeoutSeconds",
    rule: /at most/,
  },
  {
    why: "unknown key",
    kind: "ServiceDeployment",
    inputs: dep({ replicas: 3 }),
    property: "replicas",
    rule: /unknown/,
  },
  // ServiceEnvVariables (Flightcontrol)
  {
    why: "invalid variable name",
    kind: "ServiceEnvVariables",
    inputs: fc({ plainText: { "BAD-NAME": "x" } }),
    property: "plainText.BAD-NAME",
    rule: /valid variable name/,
  },
  {
    why: "name in two groups",
    kind: "ServiceEnvVariables",
    inputs: fc({ plainText: { DB: "x" }, parameterStore: { DB: SECRET } }),
    property: "parameterStore.DB",
    rule: /also declared in plainText/,
  },
  {
    why: "empty FC-managed secret",
    kind: "ServiceEnvVariables",
    inputs: fc({ secretsManager: { API: "" } }),
    property: "secretsManager.API",
    rule: /must not be empty/,
  },
  {
    why: "oversized Parameter Store value",
    kind: "ServiceEnvVariables",
    inputs: fc({ parameterStore: { BIG: "x".repeat(5000) } }),
    property: "parameterStore.BIG",
    rule: /at most 4096 bytes/,
  },
  {
    why: "reference not a path or ARN",
    kind: "ServiceEnvVariables",
    inputs: fc({ fromParameterStore: { P: "not-a-path" } }),
    property: "fromParameterStore.P",
    rule: /parameter path/,
  },
  {
    why: "fromService of the wrong shape",
    kind: "ServiceEnvVariables",
    inputs: fc({ fromService: { R: "redis" } }),
    property: "fromService.R",
    rule: /must be an object/,
  },
  {
    why: "plain value not UTF-8",
    kind: "ServiceEnvVariables",
    inputs: fc({ plainText: { P: "x\udfff" } }),
    property: "plainText.P",
    rule: /invalid unicode/,
  },
  {
    why: "unknown group",
    kind: "ServiceEnvVariables",
    inputs: fc({ secrets: {} }),
    property: "secrets",
    rule: /unknown/,
  },
  // BackendSecret (DYPAI)
  {
    why: "dashed name",
    kind: "BackendSecret",
    inputs: dy({ name: "stripe-key" }),
    property: "name",
    rule: /secret name/,
  },
  { why: "empty value", kind: "BackendSecret", inputs: dy({ value: "" }), property: "value", rule: /empty/ },
  {
    why: "oversized value",
    kind: "BackendSecret",
    inputs: dy({ value: "v".repeat(70_000) }),
    property: "value",
    rule: /65536/,
  },
  {
    why: "value not a string",
    kind: "BackendSecret",
    inputs: dy({ value: 42 }),
    property: "value",
    rule: /string/,
  },
  {
    why: "engine id with a space",
    kind: "BackendSecret",
    inputs: dy({ engineId: "engine 1" }),
    property: "engineId",
    rule: /./,
  },
  {
    why: "missing engine",
    kind: "BackendSecret",
    inputs: omit(dy({}), "engineId"),
    property: "engineId",
    rule: /required/,
  },
  { why: "unknown key", kind: "BackendSecret", inputs: dy({ extra: 1 }), property: "extra", rule: /unknown/ },
];

let emu: Emulator;
const audit = new LeakAudit("bad input");
/** The emulator's log: one line per request it answered, written before the answer leaves. */
const lines: string[] = [];
const apiRequestsLogged = () => lines.filter((l) => !/^\S+ \/_admin[/ ]/.test(l)).length;

beforeAll(async () => {
  emu = await startEmulator({ port: 0, log: (l) => lines.push(l) });
  const config: Record<string, string> = {
    "dynamiq:baseUrl": emu.dynamiq.baseUrl,
    "dynamiq:token": emu.dynamiq.userPat,
    "flightcontrol:baseUrl": emu.flightcontrol.baseUrl,
    "flightcontrol:apiKey": emu.flightcontrol.apiKey,
    "dypai:baseUrl": emu.dypai.baseUrl,
    "dypai:token": emu.dypai.token,
  };
  configure({ get: (k) => config[k] });
  audit.add(SECRET, emu.dynamiq.userPat, emu.flightcontrol.apiKey, emu.dypai.token);
  await fetch(`${emu.baseUrl}/_admin/requests`, { method: "DELETE" });
});

afterAll(async () => {
  resetConfiguration();
  await emu?.close();
  audit.scan({ "emulator log": lines.join("\n") });
  expect(audit.found).toEqual([]);
});

describe("bad-input matrix", () => {
  it(`has at least 60 cases across every resource kind, each named once`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(60);
    expect(new Set(CASES.map((c) => c.kind))).toEqual(
      new Set([
        "AccessKey",
        "PersonalAccessToken",
        "Connection",
        "ServiceDeployment",
        "ServiceEnvVariables",
        "BackendSecret",
      ]),
    );
    expect(new Set(CASES.map((c) => `${c.kind}: ${c.why}`)).size).toBe(CASES.length);
  });

  it.each(CASES.map((c) => [`${c.kind}: ${c.why}`, c] as const))(
    "%s: rejected at check with its property and rule, no API call",
    async (_name, c) => {
      const before = apiRequestsLogged();
      const provider = dynamicProvider(c.kind);
      const res = await provider.check!(
        { __provider: "p", ...(c.olds ?? {}) },
        { __provider: "p", ...c.inputs },
      );
      const failures = res.failures ?? [];
      const hit = failures.find((f) => f.property === c.property);
      expect(hit, `${c.kind} ${c.why}: ${JSON.stringify(failures)}`).toBeDefined();
      expect(hit!.reason, `${c.kind} ${c.why}`).toMatch(c.rule);
      expect(apiRequestsLogged() - before, "API requests made").toBe(0);
      // Reasons name the rule, never the value.
      const messages = failures.map((f) => `${f.property}: ${f.reason}`).join("\n");
      expect(audit.scan({ [`check failures of ${c.kind}: ${c.why}`]: messages })).toEqual([]);
    },
  );

  it("made no API call over the whole matrix", async () => {
    const counts = (await (await fetch(`${emu.baseUrl}/_admin/requests`)).json()) as { total: number };
    const total = counts.total;
    expect(total).toBe(0);
    expect(apiRequestsLogged()).toBe(0);
    console.log(`bad-input matrix: ${CASES.length} cases rejected at check, ${total} API calls`);
  });
});

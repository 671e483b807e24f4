// `pulumi-dynamiq adopt`: lists what an organisation already has on Dynamiq (a project's connections, the org's
// access keys, the user's tokens, given services' running deployments) and writes a Pulumi program that
// declares each object with its `adoptId`, so the first `pulumi up` takes them over instead of creating them.
// `pulumi import` cannot do this for dynamic resources (pulumi/pulumi#16175).
//
// Three plain steps, each testable alone: list (API calls, every page) → model (names, config keys, what is
// skipped and why) → source text. Secret values never pass through here: the API does not return them, and the
// program reads them from stack config under the keys the command prints.
import fs from "node:fs";
import type {
  AccessKeyRecord,
  ConnectionRecord,
  DeploymentRecord,
  DynamiqClient,
  ServiceRecord,
  TokenRecord,
} from "../provider/clients/dynamiq";
import { MAX_PAGE_SIZE, walkPages, type PageFetcher } from "../provider/pagination";
import { connectionFields, secretFields } from "../provider/resources/connection-types";
import { CREDENTIAL_NAME_RE } from "../provider/resources/credential";
import { tokenPreview } from "../provider/resources/personal-access-token";
import { UUID_RE } from "../provider/validate";

// ---------------------------------------------------------------------------------------------------------------
// Options and argv
// ---------------------------------------------------------------------------------------------------------------

export interface AdoptOptions {
  /** The project whose connections are adopted. */
  projectId: string;
  /** The organisation whose access keys are adopted; without it, no access key is listed. */
  orgId?: string;
  /** Services whose running deployment is adopted. */
  serviceIds: string[];
  /** Only the access keys scoped to `projectId` (not the org-wide ones, nor those of other projects). */
  projectKeysOnly: boolean;
  /** Where to write the program; "-" prints it to stdout. */
  out: string;
  /** Overwrite `out` if it exists. */
  force: boolean;
}

/** A bad command line: the flag and the rule. Raised before any API call. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const USAGE = `usage: pulumi-dynamiq adopt --project <project id> [--org <org id>] [--service <service id>]...
                             [--project-keys-only] [--out <file>|-] [--force]

Writes a Pulumi TypeScript program that adopts what already exists on Dynamiq: the project's connections, the
organisation's access keys (--org; with --project-keys-only only those scoped to the project), your personal
access tokens (except the one this command runs with) and the running deployment of each --service.
Secret values are never written: the program reads them from stack config, and the command prints the
\`pulumi config set --secret <key>\` lines to run.

  --project <id>         project whose connections are adopted (required, a UUID)
  --org <id>             organisation whose access keys are adopted (a UUID); without it no key is listed
  --service <id>         a service whose running deployment is adopted (a UUID); repeat for several
  --project-keys-only    only the access keys scoped to --project (needs --org)
  --out <file>           where to write the program (default index.ts; - for stdout)
  --force                overwrite --out if it exists

The token and API address come from the environment, as for the provider: DYNAMIQ_API_TOKEN (or
DYNAMIQ_API_KEY), a Personal Access Token; DYNAMIQ_API_BASE_URL (or DYNAMIQ_API_HOST), default
https://api.getdynamiq.ai; DYNAMIQ_ALLOW_INSECURE_HTTP=true for plain http to a host other than loopback.`;

/** Parses `adopt`'s flags (argv after the command name). Throws UsageError naming the flag and the rule. */
export function parseAdoptArgs(argv: string[]): AdoptOptions {
  const opts: Partial<AdoptOptions> & { serviceIds: string[] } = {
    serviceIds: [],
    projectKeysOnly: false,
    force: false,
  };
  const uuid = (flag: string, value: string, what: string) => {
    if (!UUID_RE.test(value)) throw new UsageError(`${flag} must be ${what} id (a UUID), got "${value}"`);
    return value.toLowerCase();
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith("--") && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = () => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined || (v.startsWith("--") && v !== "-")) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    const single = (key: keyof AdoptOptions) => {
      if (opts[key] !== undefined && key !== "serviceIds")
        throw new UsageError(`${flag} may be given only once`);
    };
    switch (flag) {
      case "--project":
        single("projectId");
        opts.projectId = uuid(flag, value(), "a project");
        break;
      case "--org":
        single("orgId");
        opts.orgId = uuid(flag, value(), "an organisation");
        break;
      case "--service":
        for (const s of value().split(",")) {
          const id = uuid(flag, s.trim(), "a service");
          if (!opts.serviceIds.includes(id)) opts.serviceIds.push(id);
        }
        break;
      case "--project-keys-only":
        if (inline !== undefined) throw new UsageError(`${flag} takes no value`);
        opts.projectKeysOnly = true;
        break;
      case "--out":
        single("out");
        opts.out = value();
        if (opts.out === "") throw new UsageError(`${flag} must not be empty`);
        break;
      case "--force":
        if (inline !== undefined) throw new UsageError(`${flag} takes no value`);
        opts.force = true;
        break;
      default:
        throw new UsageError(arg.startsWith("-") ? `unknown flag ${flag}` : `unexpected argument "${arg}"`);
    }
  }
  if (!opts.projectId) throw new UsageError("--project is required (the project whose connections to adopt)");
  if (opts.projectKeysOnly && !opts.orgId)
    throw new UsageError("--project-keys-only needs --org (access keys are listed per organisation)");
  return { out: "index.ts", ...opts } as AdoptOptions;
}

// ---------------------------------------------------------------------------------------------------------------
// List
// ---------------------------------------------------------------------------------------------------------------

export interface Inventory {
  projectId: string;
  orgId?: string;
  connections: ConnectionRecord[];
  accessKeys: AccessKeyRecord[];
  tokens: TokenRecord[];
  deployments: Array<{ service: ServiceRecord; deployment: DeploymentRecord | null }>;
  /** Pages read per list. */
  pages: { connections: number; accessKeys: number; tokens: number };
}

async function everyPage<T>(fetch: PageFetcher<T>, pageSize: number): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  const pages = await walkPages(fetch, (item) => void items.push(item), pageSize);
  return { items, pages };
}

/**
 * Lists everything `adopt` looks at, every page of each list. `pageSize` is the API's maximum; tests may pass a
 * smaller one. API errors are the client's own (platform, method, path, status, request id).
 */
export async function listOrganisation(
  client: DynamiqClient,
  opts: Pick<AdoptOptions, "projectId" | "orgId" | "serviceIds" | "projectKeysOnly">,
  pageSize = MAX_PAGE_SIZE,
): Promise<Inventory> {
  const connections = await everyPage(
    (page, page_size) => client.listConnections({ project_id: opts.projectId, page, page_size }),
    pageSize,
  );
  const keys = opts.orgId
    ? await everyPage(
        (page, page_size) => client.listAccessKeys({ org_id: opts.orgId!, page, page_size }),
        pageSize,
      )
    : { items: [], pages: 0 };
  const tokens = await everyPage((page, page_size) => client.listTokens({ page, page_size }), pageSize);
  const deployments: Inventory["deployments"] = [];
  for (const id of opts.serviceIds) {
    const service = await client.getService(id);
    const running = service.active_deployment_id ?? null;
    deployments.push({ service, deployment: running ? await client.getDeployment(id, running) : null });
  }
  return {
    projectId: opts.projectId,
    ...(opts.orgId ? { orgId: opts.orgId } : {}),
    // System connections are the platform's own (GET without include_system leaves them out; guard anyway).
    connections: connections.items.filter((c) => !c.is_system),
    accessKeys: keys.items.filter((k) => !opts.projectKeysOnly || k.project_id === opts.projectId),
    tokens: tokens.items,
    deployments,
    pages: { connections: connections.pages, accessKeys: keys.pages, tokens: tokens.pages },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------------------------

/** A secret the program reads from stack config: `pulumi config set --secret <key>`. */
export interface SecretSetting {
  key: string;
  /** What it holds, for the printed line: `api_key of connection "openai prod"`. */
  what: string;
  /** Required secrets are read with requireSecret; optional ones with getSecret (unset = field left out). */
  required: boolean;
  /** A JSON object (a secret map field such as `headers`) rather than a string. */
  object: boolean;
}

export type Value = { literal: unknown } | { secret: SecretSetting };

export interface AdoptedResource {
  kind: "Connection" | "AccessKey" | "PersonalAccessToken" | "ServiceDeployment";
  /** The Pulumi resource name: unique per kind, a valid identifier. */
  resourceName: string;
  adoptId: string;
  /** The inputs in the order written; `config`/`env`/`secretEnv` values may be secrets. */
  args: Array<[string, unknown | Record<string, Value> | { ref: string }]>;
}

export interface Skipped {
  what: string;
  reason: string;
}

export interface AdoptionModel {
  projectId: string;
  orgId?: string;
  resources: AdoptedResource[];
  secrets: SecretSetting[];
  skipped: Skipped[];
}

/** `OpenAI prod #2` → `openai_prod_2`: lower case, letters, digits and _, starting with a letter. */
export function identifierOf(name: string, fallback: string): string {
  const s = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  if (!s) return fallback;
  return /^[a-z]/.test(s) ? s : `${fallback}_${s}`;
}

function camel(...parts: string[]): string {
  const words = parts
    .join("_")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
  return words.map((w, i) => (i === 0 ? w : w[0].toUpperCase() + w.slice(1))).join("");
}

/** Hands out names unique within a scope: `x`, `x_2`, `x_3`… */
class Names {
  private used = new Set<string>();
  take(base: string, sep = "_"): string {
    let name = base;
    for (let n = 2; this.used.has(name); n++) name = `${base}${sep}${n}`;
    this.used.add(name);
    return name;
  }
}

function expired(expiresAt: string | null | undefined, now: Date): boolean {
  if (!expiresAt) return false;
  const t = Date.parse(expiresAt);
  return !Number.isNaN(t) && t <= now.getTime();
}

/**
 * What the program declares. `ownCredential` is the token the command (and presumably the stack) runs with: it
 * is left out, so that no destroy or rotation of the generated stack ever targets the provider's own token.
 */
export function adoptionModel(inv: Inventory, ownCredential: string, now = new Date()): AdoptionModel {
  const resources: AdoptedResource[] = [];
  const secrets: SecretSetting[] = [];
  const skipped: Skipped[] = [];
  const configKeys = new Names();
  const names: Record<AdoptedResource["kind"], Names> = {
    Connection: new Names(),
    AccessKey: new Names(),
    PersonalAccessToken: new Names(),
    ServiceDeployment: new Names(),
  };
  const secret = (s: Omit<SecretSetting, "key">, ...parts: string[]): Value => {
    const setting = { key: configKeys.take(camel(...parts), ""), ...s };
    secrets.push(setting);
    return { secret: setting };
  };

  for (const c of inv.connections) {
    const resourceName = names.Connection.take(identifierOf(c.name, "connection"));
    const secretNames = new Set(secretFields(c.type));
    const config: Record<string, Value> = {};
    // The catalogue's order, then any other field alphabetically: the same program for the same objects.
    const order = (connectionFields(c.type) ?? []).map((f) => f.name);
    const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length);
    const returned = Object.entries(c.config ?? {}).sort(
      ([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0),
    );
    // The non-secret fields the platform returns, as they are; a secret field is never copied even if returned.
    for (const [field, v] of returned) {
      if (secretNames.has(field) || v === null || v === undefined) continue;
      config[field] = { literal: v };
    }
    for (const f of connectionFields(c.type) ?? []) {
      if (!f.secret) continue;
      config[f.name] = secret(
        {
          what: `${f.name} of connection "${c.name}"`,
          required: f.required,
          object: f.kind === "m" || f.kind === "d",
        },
        resourceName,
        f.name,
      );
    }
    resources.push({
      kind: "Connection",
      resourceName,
      adoptId: c.id,
      args: [
        ["projectId", { ref: "projectId" }],
        ["name", c.name],
        ["type", c.type],
        ["config", config],
      ],
    });
  }

  const credential = (
    kind: "AccessKey" | "PersonalAccessToken",
    label: string,
    rec: { id: string; name: string; expires_at: string | null },
  ): boolean => {
    if (expired(rec.expires_at, now)) {
      skipped.push({
        what: `${label} "${rec.name}" (${rec.id})`,
        reason: `expired at ${rec.expires_at}: adopting it would only plan its replacement`,
      });
      return false;
    }
    if (!CREDENTIAL_NAME_RE.test(rec.name)) {
      skipped.push({
        what: `${label} "${rec.name}" (${rec.id})`,
        reason: "its name does not follow the platform's documented name rule, which the resource checks",
      });
      return false;
    }
    return true;
  };

  for (const k of inv.accessKeys) {
    if (!credential("AccessKey", "access key", k)) continue;
    const args: AdoptedResource["args"] = [
      ["orgId", { ref: "orgId" }],
      ...(k.project_id
        ? [
            ["projectId", k.project_id === inv.projectId ? { ref: "projectId" } : k.project_id] as [
              string,
              unknown,
            ],
          ]
        : []),
      ["name", k.name],
      ...(k.expires_at ? [["expiresAt", k.expires_at] as [string, unknown]] : []),
    ];
    resources.push({
      kind: "AccessKey",
      resourceName: names.AccessKey.take(identifierOf(k.name, "key")),
      adoptId: k.id,
      args,
    });
  }

  const own = tokenPreview(ownCredential);
  for (const t of inv.tokens) {
    if (own !== "" && t.preview === own) {
      skipped.push({
        what: `personal access token "${t.name}" (${t.id})`,
        reason:
          "it is the token this command runs with; a stack managing it would try to revoke it on destroy (declare it by hand with adoptId if you mean to)",
      });
      continue;
    }
    if (!credential("PersonalAccessToken", "personal access token", t)) continue;
    resources.push({
      kind: "PersonalAccessToken",
      resourceName: names.PersonalAccessToken.take(identifierOf(t.name, "token")),
      adoptId: t.id,
      args: [["name", t.name], ...(t.expires_at ? [["expiresAt", t.expires_at] as [string, unknown]] : [])],
    });
  }

  for (const { service, deployment: d } of inv.deployments) {
    const label = `service "${service.name ?? service.id}" (${service.id})`;
    if (!d) {
      skipped.push({ what: label, reason: "nothing is running on it (no active deployment)" });
      continue;
    }
    const resourceName = names.ServiceDeployment.take(identifierOf(service.name ?? "", "service"));
    const env: Record<string, Value> = {};
    const secretEnv: Record<string, Value> = {};
    for (const e of d.env ?? []) {
      if (e.secret) {
        secretEnv[e.name] = secret(
          { what: `secret variable ${e.name} of ${label}`, required: true, object: false },
          resourceName,
          "env",
          e.name,
        );
      } else env[e.name] = { literal: e.value ?? "" };
    }
    resources.push({
      kind: "ServiceDeployment",
      resourceName,
      adoptId: d.id,
      args: [
        ["serviceId", service.id],
        ["image", d.image],
        ...(d.resources ? [["resources", d.resources] as [string, unknown]] : []),
        // Always written, even empty: adoption records the deployment's plain variables, and the next diff
        // compares them with what is declared.
        ["env", env],
        ...(Object.keys(secretEnv).length > 0 ? [["secretEnv", secretEnv] as [string, unknown]] : []),
      ],
    });
  }

  return {
    projectId: inv.projectId,
    ...(inv.orgId ? { orgId: inv.orgId } : {}),
    resources,
    secrets,
    skipped,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Source text
// ---------------------------------------------------------------------------------------------------------------

const VALUE_FIELDS = new Set(["config", "env", "secretEnv"]);

/** A value as TypeScript, objects' keys sorted: the same text whatever order the platform answers in. */
function literal(v: unknown, indent: string): string {
  if (Array.isArray(v)) return `[${v.map((x) => literal(x, indent)).join(", ")}]`;
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  const keys = Object.keys(v).sort();
  if (keys.length === 0) return "{}";
  const inner = keys.map(
    (k) => `${indent}  ${propertyName(k)}: ${literal((v as Record<string, unknown>)[k], `${indent}  `)},`,
  );
  return `{\n${inner.join("\n")}\n${indent}}`;
}

function propertyName(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : JSON.stringify(key);
}

function valueText(v: Value, indent: string): string {
  if ("literal" in v) return literal(v.literal, indent);
  const s = v.secret;
  const key = JSON.stringify(s.key);
  if (s.object) {
    return s.required
      ? `config.requireSecretObject<Record<string, string>>(${key})`
      : `config.getSecretObject<Record<string, string>>(${key})`;
  }
  return s.required ? `config.requireSecret(${key})` : `config.getSecret(${key})`;
}

function resourceText(r: AdoptedResource): string {
  const lines = [
    `new ${r.kind}(${JSON.stringify(r.resourceName)}, {`,
    `  adoptId: ${JSON.stringify(r.adoptId)},`,
  ];
  for (const [key, v] of r.args) {
    if (v && typeof v === "object" && "ref" in v && Object.keys(v).length === 1) {
      const ref = (v as { ref: string }).ref;
      lines.push(ref === key ? `  ${key},` : `  ${key}: ${ref},`);
    } else if (VALUE_FIELDS.has(key)) {
      const entries = Object.entries(v as Record<string, Value>);
      if (entries.length === 0) lines.push(`  ${key}: {},`);
      else {
        lines.push(`  ${key}: {`);
        for (const [k, val] of entries) lines.push(`    ${propertyName(k)}: ${valueText(val, "    ")},`);
        lines.push("  },");
      }
    } else lines.push(`  ${key}: ${literal(v, "  ")},`);
  }
  lines.push("});");
  return lines.join("\n");
}

const SECTIONS: Array<[AdoptedResource["kind"], string]> = [
  ["Connection", "Connections of the project: the first `up` sends one PUT each, with the config below."],
  ["AccessKey", "Access keys: taken over as they are, no call; their secrets stay with whoever holds them."],
  ["PersonalAccessToken", "Personal access tokens: taken over as they are, no call."],
  ["ServiceDeployment", "Running deployments: taken over as they are, nothing is deployed."],
];

/** The program: valid TypeScript importing from "pulumi-dynamiq", one resource per adopted object. */
export function programText(model: AdoptionModel): string {
  const kinds = SECTIONS.map(([k]) => k).filter((k) => model.resources.some((r) => r.kind === k));
  const out: string[] = [
    "// Written by `pulumi-dynamiq adopt`: every resource below takes over an existing Dynamiq object (adoptId),",
    "// so the first `pulumi up` creates nothing. Secret values are read from stack config; set them first:",
    ...model.secrets.map((s) => `//   ${configSetLine(s)}`),
  ];
  const usesConfig = model.secrets.length > 0;
  if (usesConfig) out.push('import * as pulumi from "@pulumi/pulumi";');
  if (kinds.length > 0) out.push(`import { ${[...kinds].sort().join(", ")} } from "pulumi-dynamiq";`);
  out.push("");
  if (usesConfig) out.push("const config = new pulumi.Config();");
  const needsProject = model.resources.some((r) => r.args.some(([, v]) => isRef(v, "projectId")));
  const needsOrg = model.resources.some((r) => r.args.some(([, v]) => isRef(v, "orgId")));
  if (needsProject) out.push(`const projectId = ${JSON.stringify(model.projectId)};`);
  if (needsOrg) out.push(`const orgId = ${JSON.stringify(model.orgId)};`);
  for (const [kind, comment] of SECTIONS) {
    const rs = model.resources.filter((r) => r.kind === kind);
    if (rs.length === 0) continue;
    out.push("", `// ${comment}`);
    for (const r of rs) out.push(resourceText(r));
  }
  return `${out.join("\n")}\n`;
}

function isRef(v: unknown, name: string): boolean {
  return !!v && typeof v === "object" && (v as { ref?: string }).ref === name;
}

/** `pulumi config set --secret <key>`: the CLI then asks for the value, so it never reaches shell history. */
export function configSetLine(s: SecretSetting): string {
  const note = [
    s.what,
    s.object ? "a JSON object" : "",
    // The first `up` PUTs the whole config: a field left unset is removed from the connection.
    s.required ? "" : "optional: set it if the connection has one, or the first up removes it",
  ].filter(Boolean);
  return `pulumi config set --secret ${s.key}   # ${note.join("; ")}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------------------------

export interface AdoptIo {
  client: () => DynamiqClient;
  /** The credential the client uses, to leave the command's own token out. */
  credential: string;
  print: (line: string) => void;
  /** Test hook: a smaller page size than the API's maximum. */
  pageSize?: number;
}

export interface AdoptResult {
  model: AdoptionModel;
  source: string;
  inventory: Inventory;
  /** The lines printed. */
  printed: string[];
}

/** Runs `adopt` with parsed options: list, model, write the program, print what to do next. */
export async function adopt(opts: AdoptOptions, io: AdoptIo): Promise<AdoptResult> {
  if (opts.out !== "-" && !opts.force && fs.existsSync(opts.out)) {
    throw new UsageError(`--out ${opts.out} exists; pass --force to overwrite it`);
  }
  const printed: string[] = [];
  const print = (line: string) => {
    printed.push(line);
    io.print(line);
  };
  const inventory = await listOrganisation(io.client(), opts, io.pageSize);
  const model = adoptionModel(inventory, io.credential);
  const source = programText(model);
  if (opts.out === "-") print(source);
  else fs.writeFileSync(opts.out, source);
  const count = (k: AdoptedResource["kind"], what: string) => {
    const n = model.resources.filter((r) => r.kind === k).length;
    return `${n} ${what}${n === 1 ? "" : "s"}`;
  };
  print(
    `adopt: ${model.resources.length} objects (${count("Connection", "connection")}, ${count("AccessKey", "access key")}, ` +
      `${count("PersonalAccessToken", "personal access token")}, ${count("ServiceDeployment", "service deployment")})` +
      (opts.out === "-" ? "" : ` written to ${opts.out}`),
  );
  const p = inventory.pages;
  print(
    `pages read: ${p.connections} of connections, ${p.accessKeys} of access keys, ${p.tokens} of tokens` +
      (opts.orgId ? "" : " (no --org: access keys not listed)"),
  );
  for (const s of model.skipped) print(`skipped ${s.what}: ${s.reason}`);
  if (model.secrets.length > 0) {
    print("Before the first `pulumi up`, set these secrets (each command asks for its value):");
    for (const s of model.secrets) print(`  ${configSetLine(s)}`);
  }
  return { model, source, inventory, printed };
}

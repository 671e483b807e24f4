// A user's Pulumi project, written outside the repository: its own package.json (the packed tarball, a copy, by
// file path), its own tsconfig.json and program, and the commands a user runs in it.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "../support";

/** The versions the repository's package-lock.json pins, so the consumer runs what the tests run. */
export const PINNED = { pulumi: "3.270.0", typescript: "5.9.3", typesNode: "24.19.2" } as const;

export interface Ran {
  code: number;
  /** stdout and stderr, interleaved as printed. */
  output: string;
  stdout: string;
}

/**
 * The environment of every command run for the consumer: no npm lifecycle variables of the `npm test` that started
 * vitest (they name this repository), no PATH entry inside the repository except the Node 24 binary's folder,
 * which goes first (the system Node is too old for @pulumi/pulumi).
 */
export function consumerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== "INIT_CWD") env[k] = v;
  const outside = (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter((d) => d !== "" && !path.resolve(d).startsWith(ROOT + path.sep));
  env.PATH = [path.dirname(process.execPath), ...outside].join(path.delimiter);
  return { ...env, ...extra };
}

/** Runs a command to its end; never throws for a non-zero exit (the caller asserts on `code` with the output). */
export function run(
  command: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? consumerEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      timeout: opts.timeoutMs ?? 300_000,
      killSignal: "SIGKILL",
    });
    let output = "";
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk;
      stdout += chunk;
    });
    child.stderr.on("data", (chunk: Buffer) => void (output += chunk));
    child.on("error", reject);
    child.on("close", (status, signal) =>
      resolve({ code: status ?? -1, output: signal ? `${output}\n(killed by ${signal})` : output, stdout }),
    );
  });
}

/** `npm pack` of this repository into `dest`: the tarball's path and the files npm put in it. */
export async function packRepository(dest: string): Promise<{ tarball: string; files: string[] }> {
  const r = await run("npm", ["pack", "--json", "--pack-destination", dest], { cwd: ROOT });
  if (r.code !== 0) throw new Error(`npm pack failed (exit ${r.code}):\n${r.output}`);
  const [packed] = JSON.parse(r.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  return { tarball: path.join(dest, packed.filename), files: packed.files.map((f) => f.path) };
}

export interface PackageManifest {
  main?: string;
  types?: string;
  exports?: unknown;
  typesVersions?: Record<string, Record<string, string[]>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** Every file the manifest points at (`main`, `types`, each `exports` target and `typesVersions` mapping). */
export function manifestTargets(manifest: PackageManifest): Array<{ field: string; target: string }> {
  const out: Array<{ field: string; target: string }> = [];
  if (manifest.main) out.push({ field: "main", target: manifest.main });
  if (manifest.types) out.push({ field: "types", target: manifest.types });
  const walk = (field: string, value: unknown): void => {
    if (typeof value === "string") out.push({ field, target: value });
    else if (Array.isArray(value)) value.forEach((v, i) => walk(`${field}[${i}]`, v));
    else if (value && typeof value === "object")
      for (const [k, v] of Object.entries(value)) walk(`${field}["${k}"]`, v);
  };
  walk("exports", manifest.exports);
  walk("typesVersions", manifest.typesVersions);
  return out.map(({ field, target }) => ({ field, target: path.posix.normalize(target) }));
}

/**
 * The module specifiers each packed JavaScript and declaration file loads: `require("…")` in .js, `from "…"`,
 * `import("…")` and `require("…")` in .d.ts (tsc's CommonJS output and declarations only use these forms).
 */
export function specifiersOf(text: string): string[] {
  const re = /\brequire\("([^"]+)"\)|\bfrom "([^"]+)"|\bimport\("([^"]+)"\)/g;
  return [...text.matchAll(re)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** The project's program: one resource of each platform, through each entry point a program uses, with outputs. */
const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import { AccessKey, Connection } from "pulumi-dynamiq";
import { BackendSecret } from "pulumi-dynamiq/dypai";
import { ServiceEnvVariables } from "pulumi-dynamiq/flightcontrol";

const cfg = new pulumi.Config();
const orgId = cfg.require("orgId");
const projectId = cfg.require("projectId");

const db = new Connection("analytics-db", {
  projectId,
  name: "consumer-analytics",
  type: "dynamiq.connections.PostgreSQL",
  config: { host: "db.internal", port: 5432, database: "analytics", user: "reader", password: cfg.requireSecret("dbPassword") },
});

const key = new AccessKey("backend-key", { orgId, projectId, name: "consumer-backend", expiresInDays: 90 });

const env = new ServiceEnvVariables("web-env", {
  serviceId: cfg.require("flightcontrolServiceId"),
  plainText: { LOG_LEVEL: "info" },
  secretsManager: { DYNAMIQ_ACCESS_KEY: key.key },
});

const secret = new BackendSecret("engine-key", {
  engineId: cfg.require("dypaiEngineId"),
  name: "DYNAMIQ_ACCESS_KEY",
  value: key.key,
});

export const connectionId = db.id;
export const connectionStatus = db.status;
export const keyId = key.id;
export const keyPreview = key.preview;
export const keySecret = key.key;
export const envVariablesId = env.id;
export const backendSecretId = secret.id;
`;

/** The provider entry point's types, from a CommonJS module of the project. */
const PROVIDER_TYPES = `import { dynamicProvider, type AccessKeyInputs, type ConnectionInputs } from "pulumi-dynamiq/provider";

const inputs: Partial<AccessKeyInputs> = { orgId: "org" };
const type: ConnectionInputs["type"] = "dynamiq.connections.PostgreSQL";
export const used: unknown[] = [dynamicProvider, inputs, type];
`;

/** An ES module of the same project: every entry point imported by name, types included. */
const ESM_PROGRAM = `import { AccessKey, Connection, PersonalAccessToken, Provider, ServiceDeployment, type AccessKeyArgs, type ProviderArgs } from "pulumi-dynamiq";
import { Provider as FlightcontrolProvider, ServiceEnvVariables, type ServiceEnvVariablesArgs } from "pulumi-dynamiq/flightcontrol";
import { BackendSecret, Provider as DypaiProvider, type BackendSecretArgs } from "pulumi-dynamiq/dypai";
import { dynamicProvider, type AccessKeyInputs } from "pulumi-dynamiq/provider";

const key: AccessKeyArgs = { orgId: "org", expiresInDays: 30 };
const env: ServiceEnvVariablesArgs = { serviceId: "svc", plainText: { PORT: "3000" } };
const secret: BackendSecretArgs = { engineId: "engine", name: "NAME", value: "value" };
const inputs: Partial<AccessKeyInputs> = { orgId: "org" };
const org: ProviderArgs = { token: "dyn_pat_x", baseUrl: "https://api.example.com" };
export const used = [AccessKey, Connection, PersonalAccessToken, ServiceDeployment, ServiceEnvVariables, BackendSecret];
export const providers = [Provider, FlightcontrolProvider, DypaiProvider, org, AccessKey.get, BackendSecret.get];
export const provider: unknown = dynamicProvider;
export const values = [key, env, secret, inputs];
`;

/**
 * What `pulumi new typescript` wrote until March 2026 (pulumi/templates typescript/tsconfig.json, since then
 * nodenext): CommonJS with node10 resolution, where subpaths need `typesVersions`; no skipLibCheck.
 */
const TEMPLATE_TSCONFIG = {
  compilerOptions: {
    strict: true,
    outDir: "bin",
    target: "es2020",
    module: "commonjs",
    moduleResolution: "node",
    sourceMap: true,
    experimentalDecorators: true,
    pretty: true,
    noFallthroughCasesInSwitch: true,
    noImplicitReturns: true,
    forceConsistentCasingInFileNames: true,
  },
  // The provider entry point too: its declarations must not pull in zod's, which this config cannot read.
  files: ["index.ts", "provider-types.ts"],
};

/**
 * nodenext resolution, the strictest for `exports` (what `pulumi new typescript` writes now, plus `types`): the
 * program and the provider's types as CommonJS, and an ES module beside them.
 */
const NODENEXT_TSCONFIG = {
  compilerOptions: {
    strict: true,
    outDir: "bin",
    target: "es2022",
    module: "nodenext",
    moduleResolution: "nodenext",
    types: ["node"],
  },
  files: ["index.ts", "provider-types.ts", "esm-consumer.mts"],
};

/** Writes the project into `dir`, depending on the tarball (copied into it) and the pinned packages. */
export function writeConsumer(dir: string, tarball: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const local = path.join(dir, path.basename(tarball));
  if (path.resolve(tarball) !== local) fs.copyFileSync(tarball, local);
  const manifest = {
    name: "dynamiq-consumer",
    version: "0.0.0",
    private: true,
    dependencies: {
      "@pulumi/pulumi": PINNED.pulumi,
      "pulumi-dynamiq": `file:./${path.basename(tarball)}`,
    },
    devDependencies: { "@types/node": PINNED.typesNode, typescript: PINNED.typescript },
  };
  const files: Record<string, string> = {
    "package.json": JSON.stringify(manifest, null, 2),
    "tsconfig.json": JSON.stringify(NODENEXT_TSCONFIG, null, 2),
    "tsconfig.template.json": JSON.stringify(TEMPLATE_TSCONFIG, null, 2),
    "Pulumi.yaml":
      "name: dynamiq-consumer\nruntime: nodejs\ndescription: pulumi-dynamiq as a user installs it\n",
    "index.ts": PROGRAM,
    "provider-types.ts": PROVIDER_TYPES,
    "esm-consumer.mts": ESM_PROGRAM,
  };
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text + "\n");
}

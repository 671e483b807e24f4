// The real Pulumi CLI, built here from pinned Go modules (tools/pulumi/go.mod) into tools/pulumi/bin/, and the
// environment every run of it gets on these machines (no Pulumi service, no plugin downloads).
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** The repository root: the nearest folder above this file whose package.json is this package's. */
export const REPO_ROOT = (() => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, "utf8")).name === "pulumi-dynamiq")
      return dir;
  }
  throw new Error(`pulumi-dynamiq: no package.json of pulumi-dynamiq above ${__dirname}`);
})();

const MODULE_DIR = path.join(REPO_ROOT, "tools", "pulumi");
/** The installation root in the layout the Automation API expects: `<root>/bin/pulumi`. */
export const CLI_ROOT = MODULE_DIR;
export const CLI_PATH = path.join(CLI_ROOT, "bin", "pulumi");
const STAMP_PATH = path.join(CLI_ROOT, "bin", "pulumi.stamp");
const MAIN_PACKAGE = "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi";
const VERSION_VARIABLE = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version";
/** The dynamic-provider plugin @pulumi/pulumi ships at its package root; the engine finds it beside the binary. */
const DYNAMIC_PLUGIN = "pulumi-resource-pulumi-nodejs";

/** The pinned version: the `github.com/pulumi/pulumi/pkg/v3` requirement of tools/pulumi/go.mod. */
export function pinnedVersion(): string {
  const goMod = fs.readFileSync(path.join(MODULE_DIR, "go.mod"), "utf8");
  const m = /^\s*github\.com\/pulumi\/pulumi\/pkg\/v3 (v\d+\.\d+\.\d+)\b/m.exec(goMod);
  if (!m) throw new Error("tools/pulumi/go.mod: no github.com/pulumi/pulumi/pkg/v3 requirement");
  return m[1];
}

/** What a built binary must match: the version, go.mod and go.sum, and the plugin script beside it. */
function wantedStamp(): string {
  const hash = crypto.createHash("sha256");
  for (const f of ["go.mod", "go.sum"]) hash.update(fs.readFileSync(path.join(MODULE_DIR, f)));
  hash.update(fs.readFileSync(pluginSource()));
  return `${pinnedVersion()} ${hash.digest("hex")}`;
}

function pluginSource(): string {
  return path.join(path.dirname(require.resolve("@pulumi/pulumi/package.json")), DYNAMIC_PLUGIN);
}

export interface CliBuild {
  version: string;
  /** Seconds the build took; undefined when the binary was already there. */
  builtInSeconds?: number;
}

/**
 * The pinned CLI, built first when it is missing or its pins changed. `log` gets a line when a build starts and
 * one when it ends, with its duration. A build writes to a temporary name and renames, so a concurrent or
 * interrupted build never leaves a half-written binary under the real name.
 */
export function ensureCli(log: (line: string) => void = (l) => process.stderr.write(l + "\n")): CliBuild {
  const version = pinnedVersion();
  const stamp = wantedStamp();
  if (fs.existsSync(CLI_PATH) && readIfExists(STAMP_PATH) === stamp) return { version };
  log(
    `pulumi-dynamiq: building the Pulumi CLI ${version} from pinned Go modules (tools/pulumi/go.mod); ` +
      `on a fresh machine this downloads the modules and takes several minutes`,
  );
  const started = Date.now();
  const bin = path.dirname(CLI_PATH);
  fs.mkdirSync(bin, { recursive: true });
  const partial = `${CLI_PATH}.${process.pid}.partial`;
  const go = spawnSync(
    "go",
    [
      "build",
      "-trimpath",
      "-ldflags",
      `-s -w -X ${VERSION_VARIABLE}=${version}`,
      "-o",
      partial,
      MAIN_PACKAGE,
    ],
    { cwd: MODULE_DIR, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, CGO_ENABLED: "0" } },
  );
  if (go.error)
    throw new Error(`pulumi-dynamiq: cannot run go (Go 1.26 builds the Pulumi CLI): ${go.error.message}`);
  if (go.status !== 0)
    throw new Error(`pulumi-dynamiq: building the Pulumi CLI ${version} failed (go exit ${go.status})`);
  const printed = spawnSync(partial, ["version"], {
    encoding: "utf8",
    env: { ...process.env, ...offlineEnv() },
  });
  if (printed.stdout.trim() !== version) {
    fs.rmSync(partial, { force: true });
    throw new Error(
      `pulumi-dynamiq: the built CLI says ${JSON.stringify(printed.stdout.trim())}, not ${version}`,
    );
  }
  fs.renameSync(partial, CLI_PATH);
  fs.copyFileSync(pluginSource(), path.join(bin, DYNAMIC_PLUGIN));
  fs.chmodSync(path.join(bin, DYNAMIC_PLUGIN), 0o755);
  fs.writeFileSync(STAMP_PATH, stamp);
  const builtInSeconds = Math.round((Date.now() - started) / 100) / 10;
  log(
    `pulumi-dynamiq: built the Pulumi CLI ${version} in ${builtInSeconds} s (${path.relative(REPO_ROOT, CLI_PATH)})`,
  );
  return { version, builtInSeconds };
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * The environment every CLI run needs on a machine with no Pulumi service and no plugin downloads. The backend
 * and passphrase are defaults only: a caller's own `PULUMI_BACKEND_URL`, `PULUMI_CONFIG_PASSPHRASE` or
 * `PULUMI_CONFIG_PASSPHRASE_FILE` wins. The folder of the running Node goes first on PATH, so the
 * dynamic-provider plugin (a shell script that runs `node`) gets this Node (>= 22), not an older system one.
 */
export function offlineEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PATH: [path.dirname(process.execPath), env.PATH ?? ""].join(path.delimiter),
  };
  if (!env.PULUMI_BACKEND_URL) out.PULUMI_BACKEND_URL = `file://${defaultBackendDir()}`;
  if (env.PULUMI_CONFIG_PASSPHRASE === undefined && !env.PULUMI_CONFIG_PASSPHRASE_FILE)
    out.PULUMI_CONFIG_PASSPHRASE = LOCAL_PASSPHRASE;
  return out;
}

/** The passphrase of local stacks when the caller sets none: for the emulator and local trials only. */
export const LOCAL_PASSPHRASE = "pulumi-dynamiq-local";

/** The file backend used when the caller sets none: in the repository, git-ignored. */
export function defaultBackendDir(): string {
  const dir = path.join(REPO_ROOT, ".pulumi-local");
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** A fresh temporary folder. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

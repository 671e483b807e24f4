// pulumi-dynamiq as users install it: `npm pack` of this repository, the tarball and @pulumi/pulumi installed into
// a fresh project in the system's temporary folder (its own package.json and tsconfig, nothing linked back), the
// project's own tsc, CommonJS and ES module consumers, and a whole stack lifecycle with the real Pulumi CLI
// against the emulator. It packs dist/ as it is: `npm test` runs `npm run build` before vitest; run
// `npm run build` first when running this file alone.
import fs from "node:fs";
import { builtinModules, createRequire } from "node:module";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import {
  LeakAudit,
  ROOT,
  admin,
  auditLeaks,
  auditSecrets,
  emulator,
  requests,
  resetRequests,
  tempDir,
  type RequestCounts,
} from "../support";
import {
  consumerEnv,
  manifestTargets,
  packRepository,
  run,
  specifiersOf,
  writeConsumer,
  type PackageManifest,
  type Ran,
} from "./consumer";

const PACKAGE = "pulumi-dynamiq";
/** The entry points a user imports, and names each must export. */
const ENTRY_POINTS: Record<string, string[]> = {
  [PACKAGE]: ["AccessKey", "Connection", "Credential", "PersonalAccessToken", "ServiceDeployment"],
  [`${PACKAGE}/provider`]: ["configure", "dynamicProvider"],
  [`${PACKAGE}/flightcontrol`]: ["ServiceEnvVariables"],
  [`${PACKAGE}/dypai`]: ["BackendSecret"],
};
const BUILD_HINT =
  "(dist/ is packed as built: npm test builds it first; run `npm run build` before this file alone)";

let work: string;
let project: string;
let installed: string;
let packedFiles: Set<string>;
let manifest: PackageManifest;
let emu: Emulator;
const dbPassword = "consumer-db-password-" + "4".repeat(12);

beforeAll(async () => {
  emu = await emulator();
  work = tempDir("dynamiq-package-");
  project = path.join(work, "consumer");
  const packed = await packRepository(work);
  packedFiles = new Set(packed.files);
  writeConsumer(project, packed.tarball);
  const install = await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], {
    cwd: project,
    timeoutMs: 600_000,
  });
  if (install.code !== 0)
    throw new Error(`npm install in ${project} failed (exit ${install.code}):\n${install.output}`);
  installed = path.join(project, "node_modules", PACKAGE);
  manifest = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8")) as PackageManifest;
}, 900_000);

afterAll(async () => {
  await emu?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
  // The secret-leak audit of this suite (test/support/leaks.ts): the figure is zero.
  expect(await auditLeaks("package", dbPassword)).toEqual([]);
});

/** The package name of a bare specifier (`@scope/name/sub` → `@scope/name`). */
const packageName = (spec: string) => spec.split("/", spec.startsWith("@") ? 2 : 1).join("/");

/** Where a relative specifier of a packed file may land, in the order Node (or tsc, for .d.ts) tries them. */
function candidates(from: string, spec: string): string[] {
  const base = path.posix.join(path.posix.dirname(from), spec);
  return from.endsWith(".d.ts")
    ? [`${base.replace(/\.js$/, "")}.d.ts`, `${base}/index.d.ts`]
    : [base, `${base}.js`, `${base}/index.js`];
}

describe("the package as users install it", () => {
  it("packs every file that main, types, exports and typesVersions point at", () => {
    const missing = manifestTargets(manifest)
      .filter(({ target }) => !packedFiles.has(target))
      .map(({ field, target }) => `${field} → ${target}`);
    expect(missing, `missing from the tarball ${BUILD_HINT}`).toEqual([]);
  });

  it("packs every module its code loads, and declares every package it loads", () => {
    const declared = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
    ]);
    const subpaths = new Set(Object.keys((manifest.exports ?? {}) as object));
    const problems: string[] = [];
    const code = [...packedFiles].filter((f) => f.endsWith(".js") || f.endsWith(".d.ts"));
    expect(code.length, `no code in the tarball ${BUILD_HINT}`).toBeGreaterThan(0);
    for (const file of code) {
      for (const spec of specifiersOf(fs.readFileSync(path.join(installed, file), "utf8"))) {
        if (spec.startsWith(".")) {
          if (!candidates(file, spec).some((c) => packedFiles.has(c)))
            problems.push(`${file}: ${spec} is not packed`);
        } else if (spec === PACKAGE || spec.startsWith(`${PACKAGE}/`)) {
          if (!subpaths.has(`.${spec.slice(PACKAGE.length)}`))
            problems.push(`${file}: ${spec} is not in exports`);
        } else if (
          !spec.startsWith("node:") &&
          !builtinModules.includes(spec) &&
          !declared.has(packageName(spec))
        ) {
          problems.push(`${file}: ${spec} is neither a dependency nor a peer dependency`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("installs as a copy: every entry point resolves inside the project", () => {
    expect(fs.lstatSync(installed).isSymbolicLink()).toBe(false);
    const fromProject = createRequire(path.join(project, "package.json"));
    const outside: string[] = [];
    for (const spec of [...Object.keys(ENTRY_POINTS), "@pulumi/pulumi"]) {
      const file = fs.realpathSync(fromProject.resolve(spec));
      if (!file.startsWith(path.join(project, "node_modules") + path.sep)) outside.push(`${spec} → ${file}`);
    }
    expect(outside).toEqual([]);
  });

  it("type-checks with the project's own tsc: nodenext resolution (CommonJS and ESM) and the older pulumi new template", async () => {
    const tsc = path.join(project, "node_modules", "typescript", "bin", "tsc");
    for (const config of ["tsconfig.json", "tsconfig.template.json"]) {
      const r = await run(process.execPath, [tsc, "-p", config, "--noEmit", "--pretty", "false"], {
        cwd: project,
      });
      expect(r.code, `tsc -p ${config}:\n${r.output}`).toBe(0);
    }
  }, 600_000);

  it("loads every entry point with require() and with import", async () => {
    const specs = JSON.stringify(Object.keys(ENTRY_POINTS));
    const cjs = await run(
      process.execPath,
      [
        "-e",
        `const o = {}; for (const s of ${specs}) o[s] = Object.keys(require(s)); console.log(JSON.stringify(o));`,
      ],
      { cwd: project },
    );
    expect(cjs.code, `require() from the project:\n${cjs.output}`).toBe(0);
    // Named imports are linked statically: a name Node cannot see in the CommonJS output fails here.
    const esm = await run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        [
          `import { AccessKey, Connection } from "${PACKAGE}";`,
          `import { dynamicProvider } from "${PACKAGE}/provider";`,
          `import { ServiceEnvVariables } from "${PACKAGE}/flightcontrol";`,
          `import { BackendSecret } from "${PACKAGE}/dypai";`,
          `if (![AccessKey, Connection, dynamicProvider, ServiceEnvVariables, BackendSecret].every((f) => typeof f === "function")) process.exit(3);`,
          `const o = {}; for (const s of ${specs}) o[s] = Object.keys(await import(s)); console.log(JSON.stringify(o));`,
        ].join("\n"),
      ],
      { cwd: project },
    );
    expect(esm.code, `import from the project:\n${esm.output}`).toBe(0);
    const required = JSON.parse(cjs.stdout) as Record<string, string[]>;
    const imported = JSON.parse(esm.stdout) as Record<string, string[]>;
    for (const [spec, names] of Object.entries(ENTRY_POINTS)) {
      expect(required[spec], `require("${spec}")`).toEqual(expect.arrayContaining(names));
      expect(imported[spec], `import("${spec}")`).toEqual(expect.arrayContaining(required[spec]));
    }
  });

  it("runs up, preview --refresh --expect-no-changes, refresh and destroy with the real Pulumi CLI", async () => {
    const backend = path.join(work, "backend");
    const home = path.join(work, "pulumi-home");
    fs.mkdirSync(backend);
    const env = consumerEnv({
      PULUMI_BACKEND_URL: `file://${backend}`,
      PULUMI_CONFIG_PASSPHRASE: "consumer-passphrase",
      PULUMI_HOME: home,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    });
    const printed: string[] = [];
    const pulumi = async (...args: string[]): Promise<Ran> => {
      const bridge = path.join(ROOT, "dist", "engine", "pulumi.js");
      const r = await run(process.execPath, [bridge, "-C", project, ...args], { cwd: project, env });
      if (!args.includes("--show-secrets")) printed.push(r.output);
      return r;
    };
    const ok = async (...args: string[]): Promise<Ran> => {
      const r = await pulumi(...args);
      expect(r.code, `pulumi ${args.join(" ")}:\n${r.output}`).toBe(0);
      return r;
    };
    const outputs = async (showSecrets = false) =>
      JSON.parse(
        (await ok("stack", "output", "--json", ...(showSecrets ? ["--show-secrets"] : []))).stdout,
      ) as Record<string, unknown>;
    /** The write calls the emulator received since the last reset (reads vary with polling; writes do not). */
    const writes = async () => writeRoutes(await requests(emu));

    await ok("stack", "init", "dev");
    const config: Record<string, string> = {
      orgId: emu.dynamiq.orgId,
      projectId: emu.dynamiq.projectId,
      flightcontrolServiceId: emu.flightcontrol.serviceId,
      dypaiEngineId: emu.dypai.engineId,
      "dynamiq:baseUrl": emu.dynamiq.baseUrl,
      "flightcontrol:baseUrl": emu.flightcontrol.baseUrl,
      "dypai:baseUrl": emu.dypai.baseUrl,
    };
    const secrets: Record<string, string> = {
      dbPassword,
      "dynamiq:token": emu.dynamiq.userPat,
      "flightcontrol:apiKey": emu.flightcontrol.apiKey,
      "dypai:token": emu.dypai.token,
    };
    for (const [k, v] of Object.entries(config)) await ok("config", "set", k, v);
    for (const [k, v] of Object.entries(secrets)) await ok("config", "set", "--secret", k, v);

    // up: one create call per resource, and each platform holds what the program declared.
    await resetRequests(emu);
    await ok("up", "--yes");
    expect(await writes()).toEqual({
      "POST /v1/connections": 1,
      "POST /v1/access-keys": 1,
      "POST /flightcontrol/v1/services/:serviceId/env-variables": 1,
      "PUT /dypai/api/engine/:id/secrets/:name": 1,
    });
    const out = await outputs();
    expect(out).toMatchObject({ connectionStatus: "active", keySecret: "[secret]" });
    expect(out.keyPreview).toMatch(/^dynamiq_acc_/);
    const key = (await outputs(true)).keySecret;
    expect(key).toMatch(/^dynamiq_acc_/);
    auditSecrets(key);
    const platform = await platformView(emu);
    expect(platform.connections).toEqual([{ id: out.connectionId, name: "consumer-analytics" }]);
    expect(platform.accessKeys).toEqual([{ id: out.keyId, name: "consumer-backend" }]);
    expect(platform.flightcontrol).toEqual({ LOG_LEVEL: "info", DYNAMIQ_ACCESS_KEY: key });
    expect(platform.dypai).toEqual({ DYNAMIQ_ACCESS_KEY: key });

    // The drift check a CI job runs: clean right after the up.
    await ok("preview", "--refresh", "--expect-no-changes");

    // refresh reads and writes nothing; the outputs stay.
    await resetRequests(emu);
    await ok("refresh", "--yes");
    expect(await writes()).toEqual({});
    expect((await requests(emu)).total).toBeGreaterThan(0);
    expect(await outputs()).toEqual(out);

    // State as stored: secrets only as ciphertext, and `__provider` loads the installed package by name.
    const exported = (await ok("stack", "export")).stdout;
    const state = JSON.parse(exported) as { deployment: { resources?: StateResource[] } };
    const dynamic = (state.deployment.resources ?? []).filter((r) =>
      r.type.startsWith("pulumi-nodejs:dynamic/"),
    );
    expect(dynamic.map((r) => r.type).sort()).toEqual([
      "pulumi-nodejs:dynamic/dynamiq:AccessKey",
      "pulumi-nodejs:dynamic/dynamiq:Connection",
      "pulumi-nodejs:dynamic/dypai:BackendSecret",
      "pulumi-nodejs:dynamic/flightcontrol:ServiceEnvVariables",
    ]);
    for (const r of dynamic) {
      const provider = String(r.inputs?.__provider);
      expect(provider).toContain(`require("${PACKAGE}/provider")`);
      expect(provider).not.toContain(ROOT);
      expect(provider).not.toContain(project);
    }
    expect(exported).toContain("ciphertext");

    // A change made on the platform behind Pulumi's back fails the same check (exit 7).
    await admin(emu, "tamper", {
      kind: "connection",
      id: out.connectionId,
      patch: { config: { host: "rogue" } },
    });
    const drift = await pulumi("preview", "--refresh", "--expect-no-changes");
    expect(drift.code, drift.output).toBe(7);
    expect(drift.output).toContain("no changes were expected");

    // destroy: one delete call per object (two Flightcontrol variables), and nothing of ours is left.
    await resetRequests(emu);
    await ok("destroy", "--yes");
    expect(await writes()).toEqual({
      "DELETE /v1/connections/:id": 1,
      "DELETE /v1/access-keys/:id": 1,
      "DELETE /flightcontrol/v1/services/:serviceId/env-variables/:name": 2,
      "DELETE /dypai/api/engine/:id/secrets/:name": 1,
    });
    expect(await platformView(emu)).toEqual({
      connections: [],
      accessKeys: [],
      flightcontrol: {},
      dypai: {},
    });
    expect(await outputs()).toEqual({});

    // No secret in plaintext: not in `pulumi stack export`, the backend's files (checkpoints, history,
    // backups), the project's stack config, PULUMI_HOME or anything the CLI printed.
    const audit = new LeakAudit("package").add(key, ...Object.values(secrets));
    const places: Record<string, string> = {
      "pulumi stack export": exported,
      "CLI output": printed.join("\n"),
    };
    for (const dir of [backend, home])
      for (const file of filesUnder(dir)) places[file] = fs.readFileSync(file, "latin1");
    places["Pulumi.dev.yaml"] = fs.readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8");
    expect(Object.keys(places).some((p) => p.includes(`${path.sep}stacks${path.sep}`))).toBe(true);
    expect(audit.scan(places)).toEqual([]);
  }, 900_000);
});

interface StateResource {
  type: string;
  inputs?: Record<string, unknown>;
}

/** The non-GET routes of the emulator's request counts. */
function writeRoutes(counts: RequestCounts): Record<string, number> {
  return Object.fromEntries(Object.entries(counts.routes).filter(([route]) => !route.startsWith("GET ")));
}

/** What each platform holds of the project's objects, read from the emulator's admin views. */
async function platformView(emu: Emulator) {
  type Records = { records: Array<Record<string, unknown>> };
  const pick = (r: Record<string, unknown>) => ({ id: r.id, name: r.name });
  const connections = (await admin<Records>(emu, "records?kind=connection")).records.filter(
    (c) => !c.is_system,
  );
  const accessKeys = (await admin<Records>(emu, "records?kind=access_key")).records;
  const fc = await admin<{ variables: Record<string, { value?: string }> }>(
    emu,
    `flightcontrol/services/${emu.flightcontrol.serviceId}/env`,
  );
  const dy = await admin<{ secrets: Record<string, { value?: string }> }>(
    emu,
    `dypai/engines/${emu.dypai.engineId}/secrets`,
  );
  const values = (m: Record<string, { value?: string }>) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.value]));
  return {
    connections: connections.map(pick),
    accessKeys: accessKeys.map(pick),
    flightcontrol: values(fc.variables),
    dypai: values(dy.secrets),
  };
}

/** Every file below a folder. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

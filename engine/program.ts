// A Pulumi project folder's Node.js program, run as an Automation API inline program.
//
// The Node.js language host (`pulumi-language-nodejs`, a Go module of its own) is not served by the Go module
// proxy, so `pulumi up` in a project folder has no language host to start. Instead, the program runs in this
// process: the Automation API's language server (the same one its inline programs use) serves the CLI's
// `--client` flag, and this loader does what the language host's `cmd/run` does for a TypeScript program:
// register ts-node with the project's tsconfig.json and `require` the entry point. Its exports are the stack's
// outputs. Differences from `cmd/run` are listed in the README ("How this repository is tested").
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import yaml from "js-yaml";

export interface ProjectFile {
  name: string;
  runtime: string | { name: string; options?: Record<string, unknown> };
  main?: string;
  description?: string;
}

/** Reads `<dir>/Pulumi.yaml` (or `.yml`). */
export function readProject(dir: string): ProjectFile {
  for (const name of ["Pulumi.yaml", "Pulumi.yml"]) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return yaml.load(fs.readFileSync(file, "utf8")) as ProjectFile;
  }
  throw new Error(`no Pulumi.yaml in ${dir}`);
}

export function runtimeName(project: ProjectFile): string {
  return typeof project.runtime === "string" ? project.runtime : project.runtime.name;
}

/**
 * `require` as seen from the project's own @pulumi/pulumi: the program, the language server and ts-node must
 * share that one copy of the runtime, as they do under the Node.js language host.
 */
export function pulumiRequire(folder: string): NodeJS.Require {
  const fromProject = createRequire(path.join(folder, "Pulumi.yaml"));
  return createRequire(fromProject.resolve("@pulumi/pulumi/package.json"));
}

let tsRegistered = false;

/**
 * ts-node, registered once per process with the options of the language host's `cmd/run`: the ts-node that
 * @pulumi/pulumi vendors, the `typescript` found from it (else its vendored one), the project's tsconfig.json,
 * type-checking unless PULUMI_NODEJS_TRANSPILE_ONLY or the tsconfig's `noCheck` says otherwise.
 */
function registerTypeScript(folder: string): void {
  if (tsRegistered) return;
  const pulumi = pulumiRequire(folder);
  const vendor = path.join(path.dirname(pulumi.resolve("./package.json")), "vendor");
  let compiler: string;
  try {
    compiler = pulumi.resolve("typescript");
  } catch {
    compiler = path.join(vendor, "typescript@3.8.3", "typescript.js");
  }
  const ts = require(compiler) as typeof import("typescript");
  const tsconfig = path.join(folder, "tsconfig.json");
  const hasTsconfig = fs.existsSync(tsconfig);
  const compilerOptions = hasTsconfig
    ? (ts.parseConfigFileTextToJson(tsconfig, fs.readFileSync(tsconfig, "utf8")).config?.compilerOptions ??
      {})
    : {};
  const transpileEnv = process.env.PULUMI_NODEJS_TRANSPILE_ONLY;
  require(path.join(vendor, "ts-node@7.0.1")).register({
    compiler,
    transpileOnly: transpileEnv ? transpileEnv === "true" : compilerOptions.noCheck,
    project: tsconfig,
    skipProject: !hasTsconfig,
    compilerOptions: {
      target: "ES2020",
      module: "nodenext",
      moduleResolution: "nodenext",
      sourceMap: "true",
      ...compilerOptions,
    },
  });
  tsRegistered = true;
}

/**
 * Where a project's program lives: its `main` when that is a folder (the engine then runs the program there, as
 * its working directory), else the project folder. tsconfig.json and the packages resolve from here.
 */
export function programFolder(projectDir: string): string {
  const main = path.resolve(projectDir, readProject(projectDir).main ?? ".");
  return fs.statSync(main, { throwIfNoEntry: false })?.isDirectory() ? main : path.resolve(projectDir);
}

/**
 * The program of a project folder as an inline program. Every call evaluates the program afresh (its modules
 * inside the program folder are dropped from the require cache first), as each `pulumi up` starts a new program
 * process; packages it imports stay loaded.
 */
export function projectProgram(projectDir: string): () => Promise<Record<string, unknown>> {
  const project = readProject(projectDir);
  if (runtimeName(project) !== "nodejs")
    throw new Error(`${projectDir}: runtime ${runtimeName(project)} is not nodejs`);
  const folder = programFolder(projectDir);
  const entry = path.resolve(projectDir, project.main ?? ".");
  return async () => {
    registerTypeScript(folder);
    for (const file of Object.keys(require.cache))
      if (file.startsWith(folder + path.sep) && !file.includes(`${path.sep}node_modules${path.sep}`))
        delete require.cache[file];
    const exported = require(entry);
    return typeof exported === "function" ? await exported() : exported;
  };
}

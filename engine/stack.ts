// A stack of a project folder, run by the real Pulumi CLI through the Automation API: a file backend and a
// PULUMI_HOME of its own, the folder's program run inline (engine/program.ts), and every run's engine events
// turned into the steps, change counts, outputs, errors and printed text a caller asserts on.
import { execFile as execFileCallback } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import {
  LocalWorkspace,
  PulumiCommand,
  type ConfigMap,
  type EngineEvent,
  type OpMap,
  Stack,
} from "@pulumi/pulumi/automation";
import { CLI_PATH, CLI_ROOT, REPO_ROOT, ensureCli, offlineEnv } from "./cli";

const execFile = promisify(execFileCallback);
import { projectProgram, readProject } from "./program";

export type Verb = "up" | "preview" | "refresh" | "destroy";

export type StepOp = "same" | "create" | "update" | "replace" | "delete" | "read" | "refresh";

export interface Step {
  name: string;
  type: string;
  urn: string;
  /**
   * What the engine did (or, in a preview, plans) to the resource. `refresh` is a refresh that found a
   * visible difference (`diffs`: the changed output keys) or found the resource gone (`diffs: [GONE]`); a
   * refresh that found nothing different is not listed.
   */
  op: StepOp;
  /** The properties that force a replacement (`replace` only). */
  replaces?: string[];
  /** The top-level properties that differ. */
  diffs?: string[];
  /** The step failed. */
  failed?: boolean;
}

export interface RunResult {
  verb: Verb;
  exitCode: number;
  steps: Step[];
  /** The engine's own summary of the run (`resourceChanges`), the stack resource included. */
  changes: Partial<Record<string, number>>;
  /** Stack outputs after the run, plaintext (secrets unwrapped); empty after a preview or a destroy. */
  outputs: Record<string, unknown>;
  /** Names of the stack outputs that are secrets. */
  secretOutputs: string[];
  /** The engine's error diagnostics. */
  errors: string[];
  /** Everything the CLI printed (stdout and stderr). */
  log: string;
}

export interface RunOptions {
  refresh?: boolean;
  expectNoChanges?: boolean;
  /** `--diff`: show property-level diffs in the printed output. */
  diff?: boolean;
  /**
   * `--run-program` for refresh and destroy: run the program, so the providers are configured from the current
   * stack config instead of the config the last `up` recorded in state.
   */
  runProgram?: boolean;
  /** `refresh --clear-pending-creates`: drop from state the creates an interrupted run left pending. */
  clearPendingCreates?: boolean;
  parallel?: number;
  /** Extra environment for this run's CLI and, through it, the provider host. */
  env?: Record<string, string>;
  /** Also called with each chunk the CLI prints, as it prints it. */
  onOutput?: (text: string) => void;
  signal?: AbortSignal;
}

export interface StackOptions {
  /** The project folder: Pulumi.yaml and the program. */
  programDir: string;
  /** A folder of the caller's for the backend, PULUMI_HOME and the workspace; created when missing. */
  workDir: string;
  stackName?: string;
  /** Extra environment for the CLI and, through it, the provider host. */
  env?: Record<string, string>;
}

const PASSPHRASE = "pulumi-dynamiq-tests";

/** A stack of one project folder on a file backend of its own. */
export class ProjectStack {
  private readonly configSet = new Map<string, string>();

  private constructor(
    readonly stack: Stack,
    readonly workspace: LocalWorkspace,
    /** The caller's folder holding the backend, PULUMI_HOME and the workspace (stack settings). */
    readonly workDir: string,
  ) {}

  static async open(opts: StackOptions): Promise<ProjectStack> {
    ensureCli();
    const programDir = path.resolve(opts.programDir);
    const project = readProject(programDir);
    const [backendDir, home, work] = ["backend", "home", "workspace"].map((d) => path.join(opts.workDir, d));
    for (const d of [backendDir, home, work]) fs.mkdirSync(d, { recursive: true });
    const backend = `file://${backendDir}`;
    const own = { PULUMI_BACKEND_URL: backend, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE };
    const env = { ...offlineEnv({ ...process.env, ...own }), ...own, ...opts.env };
    const workspace = await LocalWorkspace.create({
      workDir: work,
      pulumiHome: home,
      pulumiCommand: await PulumiCommand.get({ root: CLI_ROOT }),
      program: projectProgram(programDir),
      // `main` is the program folder, so the dynamic-provider host starts there and resolves the package
      // (`require("pulumi-dynamiq/provider")` in `__provider`) from the program's node_modules, as it would for
      // a project run by the Node.js language host.
      projectSettings: {
        name: project.name,
        runtime: "nodejs",
        main: programDir,
        description: project.description,
        backend: { url: backend },
      },
      envVars: env,
    });
    const stack = await Stack.createOrSelect(opts.stackName ?? "dev", workspace);
    return new ProjectStack(stack, workspace, path.resolve(opts.workDir));
  }

  /**
   * Sets stack config. Values persist between runs, as with `pulumi config set`; only keys whose value
   * changed are written (one `pulumi config set-all`).
   */
  async setConfig(config: Record<string, string> = {}, secrets: Record<string, string> = {}): Promise<void> {
    const changed: ConfigMap = {};
    for (const [values, secret] of [
      [config, false],
      [secrets, true],
    ] as const)
      for (const [key, value] of Object.entries(values)) {
        const marked = `${secret ? "s" : "p"}:${value}`;
        if (this.configSet.get(key) === marked) continue;
        changed[key] = { value, secret };
        this.configSet.set(key, marked);
      }
    if (Object.keys(changed).length > 0) await this.stack.setAllConfig(changed);
  }

  async run(verb: Verb, opts: RunOptions = {}): Promise<RunResult> {
    const events: EngineEvent[] = [];
    let log = "";
    const print = (text: string) => {
      log += text;
      opts.onOutput?.(text);
    };
    const common = {
      onOutput: print,
      onError: print,
      onEvent: (e: EngineEvent) => void events.push(e),
      parallel: opts.parallel,
      signal: opts.signal,
    };
    let exitCode = 0;
    let outputs: Record<string, unknown> = {};
    let secretOutputs: string[] = [];
    const envBefore = { ...this.workspace.envVars };
    Object.assign(this.workspace.envVars, opts.env);
    try {
      if (verb === "up") {
        const r = await this.stack.up({
          ...common,
          refresh: opts.refresh,
          expectNoChanges: opts.expectNoChanges,
          diff: opts.diff,
        });
        ({ outputs, secretOutputs } = plainOutputs(r.outputs));
      } else if (verb === "preview") {
        await this.stack.preview({
          ...common,
          refresh: opts.refresh,
          expectNoChanges: opts.expectNoChanges,
          diff: opts.diff,
        });
      } else if (verb === "refresh") {
        await this.stack.refresh({
          ...common,
          expectNoChanges: opts.expectNoChanges,
          runProgram: opts.runProgram,
          clearPendingCreates: opts.clearPendingCreates,
        });
      } else {
        await this.stack.destroy({ ...common, refresh: opts.refresh, runProgram: opts.runProgram });
      }
    } catch (e) {
      exitCode = commandExitCode(e);
      if (exitCode === -2) print(`\n${(e as Error).message}\n`);
    } finally {
      this.workspace.envVars = envBefore;
    }
    if (verb === "refresh" || (verb === "up" && exitCode !== 0))
      ({ outputs, secretOutputs } = plainOutputs(await this.stack.outputs()));
    return { verb, exitCode, ...fromEvents(events), outputs, secretOutputs, log };
  }

  /**
   * `pulumi stack export`: secrets as ciphertext; with `showSecrets`, decrypted and unwrapped to their plain
   * values (the CLI prints them as `{<sig>: …, plaintext: "<JSON>"}`).
   */
  async exportState(showSecrets = false): Promise<Deployment> {
    const args = ["stack", "export", "--stack", this.stack.name, ...(showSecrets ? ["--show-secrets"] : [])];
    const exported = JSON.parse(await this.cli(args)) as Deployment;
    return showSecrets ? (unwrapSecrets(exported) as Deployment) : exported;
  }

  /**
   * The command line of `pulumi <args>` on this stack through engine/pulumi.ts (built into dist/), as a user
   * would type it in the project: for running the CLI in a process of its own, e.g. to kill it.
   */
  commandLine(args: string[]): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
    return {
      file: process.execPath,
      args: [
        path.join(REPO_ROOT, "dist", "engine", "pulumi.js"),
        "-C",
        this.workspace.workDir,
        ...args,
        "--stack",
        this.stack.name,
      ],
      env: { ...process.env, ...this.workspace.envVars, PULUMI_HOME: this.workspace.pulumiHome },
    };
  }

  /** Runs the CLI in this stack's workspace, with its environment; resolves with stdout, rejects on failure. */
  async cli(args: string[]): Promise<string> {
    const { stdout } = await execFile(CLI_PATH, [...args, "--non-interactive"], {
      cwd: this.workspace.workDir,
      env: { ...process.env, ...this.workspace.envVars, PULUMI_HOME: this.workspace.pulumiHome },
      maxBuffer: 256 * 1024 * 1024,
    });
    return stdout;
  }

  /**
   * Every file the CLI wrote for this stack, as text: the backend's checkpoints, backups and history, the stack
   * settings (config, secrets encrypted) and PULUMI_HOME.
   */
  storedText(): string {
    const texts: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(p);
        else texts.push(fs.readFileSync(p, "utf8"));
      }
    };
    walk(this.workDir);
    return texts.join("\n");
  }
}

/** The parts of `pulumi stack export` the tests read. */
export interface Deployment {
  version: number;
  deployment: {
    resources?: StateResource[];
    pending_operations?: Array<{ resource: StateResource; type: string }>;
  };
}

export interface StateResource {
  urn: string;
  type: string;
  custom?: boolean;
  id?: string;
  delete?: boolean;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  provider?: string;
  initErrors?: string[];
}

/** The signature key that marks a secret value in Pulumi's state. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** A value with every `{<sig>: …, plaintext}` secret replaced by its plain value. */
function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (!value || typeof value !== "object") return value;
  const obj = value as Record<string, unknown>;
  if (SECRET_SIG in obj && typeof obj.plaintext === "string") return unwrapSecrets(JSON.parse(obj.plaintext));
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v)]));
}

/**
 * The exit code of a failed CLI command. The Automation API wraps every failure as code -2 and keeps the
 * process's own code on the wrapped error; -2 is left only when the CLI did not run at all.
 */
function commandExitCode(e: unknown): number {
  const result = (e as { commandResult?: { code?: number; err?: { exitCode?: number } } }).commandResult;
  const code = result?.err?.exitCode ?? result?.code;
  if (typeof code === "number") return code;
  throw e;
}

function plainOutputs(map: Record<string, { value: unknown; secret: boolean }>) {
  const outputs: Record<string, unknown> = {};
  const secretOutputs: string[] = [];
  for (const [k, v] of Object.entries(map)) {
    outputs[k] = v.value;
    if (v.secret) secretOutputs.push(k);
  }
  return { outputs, secretOutputs };
}

/** Steps, change counts and errors from a run's engine events. */
function fromEvents(events: EngineEvent[]): Pick<RunResult, "steps" | "changes" | "errors"> {
  const steps = new Map<string, Step>();
  let changes: OpMap = {};
  const errors: string[] = [];
  for (const e of events) {
    if (e.summaryEvent) changes = e.summaryEvent.resourceChanges;
    if (e.diagnosticEvent?.severity === "error") errors.push(e.diagnosticEvent.message.trim());
    const meta = (e.resourcePreEvent ?? e.resOutputsEvent ?? e.resOpFailedEvent)?.metadata;
    if (!meta) continue;
    // A refresh is announced as `refresh` and ends as `refresh` or `delete`: one refresh step.
    const refreshKey = `${meta.urn} refresh`;
    const isRefresh =
      meta.op === "refresh" || (meta.op === "delete" && e.resOutputsEvent && steps.has(refreshKey));
    const op = isRefresh ? "refresh" : STEP_OPS.get(meta.op);
    if (!op) continue; // the halves of a replacement fold into its `replace` step
    const key = `${meta.urn} ${op}`;
    let step = steps.get(key);
    if (!step) {
      step = { name: meta.urn.split("::").pop() ?? meta.urn, type: meta.type, urn: meta.urn, op };
      steps.set(key, step);
    }
    if (op === "replace" && meta.keys?.length) step.replaces = meta.keys;
    if (meta.diffs?.length) step.diffs = meta.diffs;
    // A refresh that found the resource gone ends as `delete` in `pulumi refresh`, and as `refresh` with no
    // new state in `up --refresh` and `preview --refresh`.
    if (isRefresh && e.resOutputsEvent)
      step.diffs =
        meta.op === "delete" || !meta.new ? [GONE] : changedKeys(meta.old?.outputs, meta.new.outputs);
    if (e.resOpFailedEvent) step.failed = true;
  }
  // A refresh that found nothing different is not worth listing.
  const listed = [...steps.values()].filter((s) => s.op !== "refresh" || s.diffs?.length);
  return { steps: listed, changes, errors };
}

/** The `diffs` of a refresh step that found the resource gone. */
export const GONE = "<gone>";

const STEP_OPS = new Map<string, StepOp>(
  (["same", "create", "update", "replace", "delete", "read"] as const).map((op) => [op, op]),
);

/** Top-level keys whose values differ (secrets are masked in events, so a changed secret does not show). */
function changedKeys(before: Record<string, unknown> = {}, after: Record<string, unknown> = {}): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).sort();
}

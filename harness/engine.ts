// The engine harness: a stand-in for the Pulumi engine (the Go CLI cannot be installed here). It serves the real
// gRPC protocol (pulumirpc.ResourceMonitor + pulumirpc.Engine) to a program run by @pulumi/pulumi's own
// `cmd/run` (the nodejs language host's entry point), sends every provider call to the real dynamic-provider host
// (`cmd/dynamic-provider`), and imitates the engine's step rules (pkg/resource/deploy/step_generator.go, step.go,
// sdk/go/common/resource/plugin/provider_plugin.go). See harness/README.md for what is real and what is imitated.

import { ChildProcess, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
import * as yaml from "js-yaml";

import type * as GrpcJs from "@grpc/grpc-js";
import type * as ResourcePb from "@pulumi/pulumi/proto/resource_pb";
import type * as EnginePb from "@pulumi/pulumi/proto/engine_pb";
import type * as EmptyPb from "google-protobuf/google/protobuf/empty_pb";

import { ProviderError, ProviderHost, urnName, urnQualifiedType, urnType } from "./host";
import { Protos, loadProtos } from "./protos";
import {
  PropertyMap,
  annotateSecrets,
  applyAdditionalSecretOutputs,
  changedKeys,
  cloneJson,
  deepEqual,
  makeSecret,
  maskForDisplay,
  normalize,
  plainForResult,
  processIgnoreChanges,
  removeSecretsMap,
} from "./props";
import {
  LoadedState,
  StackConfig,
  StateResource,
  loadState,
  resolvePassphrase,
  serializeState,
  writeFileAtomic,
} from "./state";
import { Semaphore, errorMessage, nowIso } from "./util";

export type Verb = "up" | "preview" | "refresh" | "destroy";

export interface RunOptions {
  verb: Verb;
  programDir: string;
  statePath: string;
  stack?: string;
  config?: Record<string, string>;
  secrets?: Record<string, string>;
  refresh?: boolean;
  expectNoChanges?: boolean;
  parallel?: number;
  /** Extra env for the program and provider-host processes. */
  env?: Record<string, string>;
  passphrase?: string;
  /** Receives every line the harness, the program and the host print. */
  onOutput?: (line: string) => void;
  /** Also print `= same` steps. */
  verbose?: boolean;
}

export type StepOp = "same" | "create" | "update" | "replace" | "delete" | "read";

export interface Step {
  name: string;
  type: string;
  urn: string;
  op: StepOp;
  replaces?: string[];
  diffs?: string[];
}

export interface Changes {
  create: number;
  update: number;
  replace: number;
  delete: number;
  same: number;
}

export interface RunResult {
  exitCode: number;
  steps: Step[];
  changes: Changes;
  /** Stack outputs in plaintext (secrets unwrapped), for tests. */
  outputs: Record<string, unknown>;
  errors: string[];
  /** All printed text. */
  log: string;
  /** Stack outputs as displayed: secrets shown as "[secret]". */
  displayOutputs: Record<string, unknown>;
  /** Names of the stack outputs that are secret. */
  secretOutputs: string[];
}

const STACK_TYPE = "pulumi:pulumi:Stack";
const NODEJS_PROVIDER_TYPE = "pulumi:providers:pulumi-nodejs";
const DYNAMIC_PREFIX = "pulumi-nodejs:dynamic";

/** The most often the state file is rewritten while steps complete (see `Deployment.checkpoint`). */
const CHECKPOINT_INTERVAL_MS = 250;

/** Thrown by a step: the failure has already been reported. */
class StepFailed extends Error {}

interface ProjectInfo {
  name: string;
  main?: string;
  typescript: boolean;
}

export function readProject(programDir: string): ProjectInfo {
  const file = ["Pulumi.yaml", "Pulumi.yml"]
    .map((f) => path.join(programDir, f))
    .find((f) => fs.existsSync(f));
  if (!file) throw new Error(`no Pulumi.yaml in ${programDir}`);
  const doc = yaml.load(fs.readFileSync(file, "utf8")) as Record<string, unknown> | undefined;
  const name = doc?.name;
  if (typeof name !== "string" || !name) throw new Error(`${file}: missing project name`);
  const runtime = doc?.runtime;
  const runtimeName =
    typeof runtime === "string" ? runtime : (runtime as { name?: string } | undefined)?.name;
  if (runtimeName !== "nodejs")
    throw new Error(`${file}: runtime must be nodejs (got ${String(runtimeName)})`);
  const options =
    typeof runtime === "object" && runtime !== null
      ? ((runtime as { options?: Record<string, unknown> }).options ?? {})
      : {};
  return {
    name,
    main: typeof doc?.main === "string" ? doc.main : undefined,
    typescript: options.typescript !== false,
  };
}

/** `key` -> `<project>:key`; keys that already have a namespace are kept (like `pulumi config set`). */
export function qualifyConfigKey(key: string, project: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

export async function run(opts: RunOptions): Promise<RunResult> {
  let deployment: Deployment;
  try {
    deployment = new Deployment(opts);
  } catch (e) {
    const line = `error: ${errorMessage(e)}`;
    opts.onOutput?.(line);
    return {
      exitCode: 1,
      steps: [],
      changes: { create: 0, update: 0, replace: 0, delete: 0, same: 0 },
      outputs: {},
      errors: [errorMessage(e)],
      log: line + "\n",
      displayOutputs: {},
      secretOutputs: [],
    };
  }
  return deployment.execute();
}

interface Goal {
  type: string;
  name: string;
  urn: string;
  parent: string;
  custom: boolean;
  props: PropertyMap;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  protect: boolean;
  deleteBeforeReplace: boolean | undefined;
  ignoreChanges: string[];
  additionalSecretOutputs: string[];
  retainOnDelete: boolean;
  provider: string;
}

interface RegisterOutcome {
  urn: string;
  id: string;
  object: PropertyMap;
  propertyDependencies: Record<string, string[]>;
  failed: boolean;
}

class Deployment {
  private readonly verb: Verb;
  private readonly preview: boolean;
  private readonly programDir: string;
  private readonly project: ProjectInfo;
  private readonly stack: string;
  private readonly parallel: number;
  private readonly protos: Protos;
  private readonly sem: Semaphore;
  private readonly logLines: string[] = [];
  private readonly steps: Step[] = [];
  private readonly errors: string[] = [];
  private readonly startedAt = Date.now();

  private loaded!: LoadedState;
  private config!: StackConfig;
  private lastSave = 0;
  private saveTimer: NodeJS.Timeout | undefined;
  /** The current state, mutated step by step and checkpointed after each (coalesced, see `checkpoint`). */
  private live: StateResource[] = [];
  /** Old (non-pending-delete) resources by URN, as of the start of the program run (after any refresh). */
  private olds = new Map<string, StateResource>();
  private readonly registered = new Set<string>();
  /** Old resources replaced create-before-delete in this run (or pending-delete from earlier runs). */
  private readonly pendingDeletes: StateResource[] = [];
  private readonly replacedThisRun = new Set<StateResource>();
  private readonly inflight = new Set<Promise<unknown>>();
  /** Set at the first step failure: no new step starts after it. */
  private failed = false;
  private programFailed = false;
  private hostPromise: Promise<ProviderHost> | undefined;
  private defaultProvider: Promise<string> | undefined;
  private endPhase: Promise<void> | undefined;
  private server: GrpcJs.Server | undefined;
  private address = "";
  private stackUrn = "";

  constructor(private readonly opts: RunOptions) {
    this.verb = opts.verb;
    this.preview = opts.verb === "preview";
    this.programDir = path.resolve(opts.programDir);
    this.project = readProject(this.programDir);
    this.stack = opts.stack ?? "dev";
    this.parallel = opts.parallel && opts.parallel > 0 ? Math.floor(opts.parallel) : 16;
    this.protos = loadProtos(this.programDir);
    this.sem = new Semaphore(this.parallel);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Output

  private print(line: string): void {
    for (const l of line.split("\n")) {
      this.logLines.push(l);
      this.opts.onOutput?.(l);
    }
  }

  private error(message: string, urn?: string): void {
    const label = urn ? `${urnType(urn)} (${urnName(urn)}): ` : "";
    this.errors.push(`${label}${message}`);
    this.print(`error: ${label}${message}`);
  }

  private fail(message: string, urn?: string): StepFailed {
    this.failed = true;
    this.error(message, urn);
    return new StepFailed(message);
  }

  private recordStep(step: Step): void {
    this.steps.push(step);
    if (step.op === "same" && !this.opts.verbose) return;
    const symbol = { same: "=", create: "+", update: "~", replace: "+-", delete: "-", read: "~" }[step.op];
    const word = step.op === "read" ? "refresh" : step.op;
    let line = ` ${symbol.padEnd(2)} ${word.padEnd(8)} ${step.type}  ${step.name}`;
    if (step.replaces?.length) line += `  [replace: ${step.replaces.join(", ")}]`;
    if (step.diffs?.length) line += `  [diff: ${step.diffs.join(", ")}]`;
    this.print(line);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // State

  /**
   * Checkpoints the state after a completed step. Writes are coalesced: at most one every
   * CHECKPOINT_INTERVAL_MS while steps keep completing (a write serialises and encrypts the whole state, so one
   * per step made a run of n resources O(n^2): 80% of the harness's time at 600 resources), and always one
   * at the end of the run. Transitions that must be on disk before the next provider call use `save()`.
   */
  private checkpoint(): void {
    if (this.preview) return;
    const wait = this.lastSave + CHECKPOINT_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      this.save();
      return;
    }
    this.saveTimer ??= setTimeout(() => {
      this.saveTimer = undefined;
      try {
        this.save();
      } catch (e) {
        this.error(`writing the state file: ${errorMessage(e)}`);
        this.failed = true;
      }
    }, wait);
  }

  private save(): void {
    if (this.preview) return;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.lastSave = Date.now();
    const file = serializeState(
      sortTopologically(this.live),
      this.config,
      this.loaded.secrets,
      this.protos.pulumiVersion,
    );
    writeFileAtomic(this.opts.statePath, JSON.stringify(file, null, 4) + "\n");
  }

  private replaceEntry(old: StateResource | undefined, next: StateResource): void {
    const i = old ? this.live.indexOf(old) : -1;
    if (i >= 0) this.live[i] = next;
    else this.live.push(next);
  }

  private removeEntry(entry: StateResource): void {
    const i = this.live.indexOf(entry);
    if (i >= 0) this.live.splice(i, 1);
  }

  private loadConfig(): void {
    const cfg: StackConfig = {
      values: { ...this.loaded.config.values },
      secretKeys: new Set(this.loaded.config.secretKeys),
    };
    for (const [k, v] of Object.entries(this.opts.config ?? {})) {
      const key = qualifyConfigKey(k, this.project.name);
      cfg.values[key] = v;
      cfg.secretKeys.delete(key);
    }
    for (const [k, v] of Object.entries(this.opts.secrets ?? {})) {
      const key = qualifyConfigKey(k, this.project.name);
      cfg.values[key] = v;
      cfg.secretKeys.add(key);
    }
    this.config = cfg;
  }

  /** The default provider's inputs: the whole stack config keyed "ns:key", secrets marked (deploy/target.go). */
  private providerInputs(): PropertyMap {
    const out: PropertyMap = {};
    for (const k of Object.keys(this.config.values).sort()) {
      const v = this.config.values[k];
      out[k] = this.config.secretKeys.has(k) ? makeSecret(v) : v;
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Provider host

  private childEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, ...(this.opts.env ?? {}) };
    for (const k of [
      "ORGANIZATION",
      "PROJECT",
      "ROOT_DIRECTORY",
      "STACK",
      "DRY_RUN",
      "PARALLEL",
      "MONITOR",
      "ENGINE",
      "SYNC",
    ]) {
      delete env[`PULUMI_NODEJS_${k}`];
    }
    return env;
  }

  private host(): Promise<ProviderHost> {
    if (!this.hostPromise) {
      this.hostPromise = (async () => {
        const host = await ProviderHost.start({
          protos: this.protos,
          programDir: this.programDir,
          engineAddress: this.address,
          env: this.childEnv(),
          onLine: (l) => this.print(l),
        });
        // Like the engine configuring the default `pulumi-nodejs` provider: the whole stack config, plaintext.
        await host.configure({ ...this.config.values });
        return host;
      })();
      this.hostPromise.catch(() => undefined);
    }
    return this.hostPromise;
  }

  private async call<T>(fn: (host: ProviderHost) => Promise<T>): Promise<T> {
    const host = await this.host();
    return this.sem.run(() => fn(host));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Main

  async execute(): Promise<RunResult> {
    const passphrase = resolvePassphrase(this.opts.passphrase);
    const header = {
      up: "Updating",
      preview: "Previewing update",
      refresh: "Refreshing",
      destroy: "Destroying",
    }[this.verb];
    try {
      this.loaded = loadState(this.opts.statePath, passphrase);
      this.loadConfig();
      this.live = [...this.loaded.resources];
      this.print(`${header} (${this.stack}):`);
      await this.startServer();
      if (this.verb === "refresh" || this.opts.refresh) {
        const before = this.steps.length;
        await this.refreshAll();
        if (this.verb !== "refresh" && this.steps.length > before) this.print("");
      }
      if (!this.failed && (this.verb === "up" || this.verb === "preview")) {
        await this.runProgram();
      }
      if (!this.failed && this.verb === "destroy") {
        await this.deleteAll([...this.live]);
      }
    } catch (e) {
      if (!(e instanceof StepFailed)) this.error(errorMessage(e));
      this.failed = true;
    } finally {
      await Promise.allSettled([...this.inflight]);
      if (this.hostPromise) {
        const host = await this.hostPromise.catch(() => undefined);
        await host?.stop();
      }
      this.server?.forceShutdown();
    }
    if (this.loaded && !this.preview) {
      try {
        this.save();
      } catch (e) {
        this.error(`writing the state file: ${errorMessage(e)}`);
      }
    }
    return this.result();
  }

  private result(): RunResult {
    const changes: Changes = { create: 0, update: 0, replace: 0, delete: 0, same: 0 };
    for (const s of this.steps) {
      if (s.op === "read") {
        if (s.diffs?.includes("<deleted>")) changes.delete++;
        else changes.update++;
      } else changes[s.op]++;
    }
    const stackEntry =
      this.verb === "destroy" ? undefined : this.live.find((r) => r.type === STACK_TYPE && !r.delete);
    const rawOutputs = stackEntry?.outputs ?? {};
    const outputs = plainForResult(rawOutputs) as Record<string, unknown>;
    const displayOutputs = maskForDisplay(rawOutputs) as Record<string, unknown>;
    const secretOutputs = Object.keys(rawOutputs).filter((k) => displayOutputs[k] === "[secret]");

    if (Object.keys(displayOutputs).length > 0) {
      this.print("");
      this.print("Outputs:");
      const width = Math.max(...Object.keys(displayOutputs).map((k) => k.length));
      for (const k of Object.keys(displayOutputs).sort()) {
        const v = displayOutputs[k];
        const shown = v === "[secret]" || v === "[unknown]" ? String(v) : JSON.stringify(v);
        this.print(`    ${k.padEnd(width)}: ${shown}`);
      }
    }
    this.print("");
    this.print("Resources:");
    const verbWord = this.preview ? "to " : "";
    const lines: string[] = [];
    if (changes.create)
      lines.push(`    + ${changes.create} ${verbWord}${this.preview ? "create" : "created"}`);
    if (changes.update)
      lines.push(`    ~ ${changes.update} ${verbWord}${this.preview ? "update" : "updated"}`);
    if (changes.replace)
      lines.push(`    +-${changes.replace} ${verbWord}${this.preview ? "replace" : "replaced"}`);
    if (changes.delete)
      lines.push(`    - ${changes.delete} ${verbWord}${this.preview ? "delete" : "deleted"}`);
    if (changes.same) lines.push(`    ${changes.same} unchanged`);
    if (lines.length === 0) lines.push("    no resources");
    for (const l of lines) this.print(l);
    this.print("");
    this.print(`Duration: ${((Date.now() - this.startedAt) / 1000).toFixed(1)}s`);

    const anyChanges = changes.create + changes.update + changes.replace + changes.delete > 0;
    let exitCode = 0;
    if (this.errors.length > 0) exitCode = 1;
    else if (this.opts.expectNoChanges && anyChanges) {
      exitCode = 2;
      this.print("error: no changes were expected but changes were found");
    }
    return {
      exitCode,
      steps: this.steps,
      changes,
      outputs,
      errors: this.errors,
      log: this.logLines.join("\n") + "\n",
      displayOutputs,
      secretOutputs,
    };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Program run (up / preview)

  private async runProgram(): Promise<void> {
    this.olds = new Map();
    for (const r of this.live) {
      if (r.delete) this.pendingDeletes.push(r);
      else this.olds.set(r.urn, r);
    }
    void this.host(); // start the provider host while the program loads

    const runScript = path.join(this.protos.pulumiDir, "cmd", "run", "index.js");
    let entry: string;
    if (this.project.main) entry = this.project.main;
    else if (fs.existsSync(path.join(this.programDir, "package.json"))) entry = ".";
    else entry = this.programDir; // no package.json here: "." would pick up a parent package.json's "main"
    const args = [
      runScript,
      `--monitor=${this.address}`,
      `--engine=${this.address}`,
      `--project=${this.project.name}`,
      `--stack=${this.stack}`,
      `--pwd=${this.programDir}`,
      ...(this.preview ? ["--dry-run"] : []),
      `--parallel=${this.parallel}`,
      `--organization=organization`,
      `--root-directory=${this.programDir}`,
      entry,
    ];
    const env = this.childEnv();
    env.PULUMI_CONFIG = JSON.stringify(this.config.values);
    env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify([...this.config.secretKeys].sort());
    if (this.project.typescript) env.PULUMI_NODEJS_TYPESCRIPT = "true";
    else delete env.PULUMI_NODEJS_TYPESCRIPT;

    const proc: ChildProcess = spawn(process.execPath, args, {
      cwd: this.programDir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    readline.createInterface({ input: proc.stdout! }).on("line", (l) => this.print(l));
    readline.createInterface({ input: proc.stderr! }).on("line", (l) => this.print(l));
    const code = await new Promise<number>((resolve) => {
      proc.on("error", (e) => {
        this.error(`cannot start the program: ${e.message}`);
        resolve(1);
      });
      proc.on("close", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
    });
    await this.settle();
    if (code !== 0) {
      this.programFailed = true;
      // 32: the program already reported its error through Engine.Log.
      if (!this.failed && code !== 32) this.error(`the program exited with code ${code}`);
      if (!this.failed && code === 32 && this.errors.length === 0) this.error("the program failed");
      this.failed = true;
      return;
    }
    await this.finish();
  }

  /** Waits until every registration (and anything it started) has completed. */
  private async settle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => undefined);
    return p;
  }

  /** End of a successful program: delete what the program no longer registers, and the replaced resources. */
  private finish(): Promise<void> {
    if (!this.endPhase) {
      this.endPhase = (async () => {
        await this.settle();
        if (this.failed || this.programFailed) return;
        const toDelete: StateResource[] = [...this.pendingDeletes];
        for (const r of this.live) {
          if (r.delete || this.registered.has(r.urn) || toDelete.includes(r)) continue;
          toDelete.push(r);
        }
        await this.deleteAll(toDelete);
      })();
    }
    return this.endPhase;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // gRPC services

  private async startServer(): Promise<void> {
    const { grpc, resourceGrpc, engineGrpc } = this.protos;
    const server = new grpc.Server({
      "grpc.max_receive_message_length": 400 * 1024 * 1024,
      "grpc.max_send_message_length": 400 * 1024 * 1024,
    });
    server.addService(resourceGrpc.ResourceMonitorService, this.monitorService());
    server.addService(engineGrpc.EngineService, this.engineService());
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    this.server = server;
    this.address = `127.0.0.1:${port}`;
  }

  private monitorService(): GrpcJs.UntypedServiceImplementation {
    const { resourcePb, emptypb, structpb, grpc } = this.protos;
    const features = [resourcePb.ResourceMonitorFeature.RESOURCE_MONITOR_FEATURE_SECRETS];
    const unary =
      <Req, Res>(fn: (req: Req) => Promise<Res>) =>
      (call: GrpcJs.ServerUnaryCall<Req, Res>, callback: GrpcJs.sendUnaryData<Res>) => {
        fn(call.request).then(
          (res) => callback(null, res),
          (e: unknown) => {
            const status = (e as { code?: number }).code;
            callback({
              code: typeof status === "number" ? status : grpc.status.UNKNOWN,
              details: errorMessage(e),
            });
          },
        );
      };
    return {
      getDeploymentInfo: unary(async () => {
        const info = new resourcePb.DeploymentInfo();
        info.setProject(this.project.name);
        info.setStack(this.stack);
        info.setOrganization("organization");
        for (const [k, v] of Object.entries(this.config.values)) info.getConfigMap().set(k, v);
        info.setConfigsecretkeysList([...this.config.secretKeys].sort());
        info.setDryrun(this.preview);
        info.setParallel(this.parallel);
        info.setSupportedfeaturesList(features);
        return info;
      }),
      supportsFeature: unary(async (req: ResourcePb.SupportsFeatureRequest) => {
        const res = new resourcePb.SupportsFeatureResponse();
        res.setHassupport(req.getId() === "secrets");
        return res;
      }),
      invoke: unary(async (req: ResourcePb.ResourceInvokeRequest) => {
        throw Object.assign(new Error(`Invoke (${req.getTok()}) is not supported by the engine harness`), {
          code: grpc.status.UNIMPLEMENTED,
        });
      }),
      readResource: unary(async (req: ResourcePb.ReadResourceRequest) => {
        throw Object.assign(
          new Error(`reading existing resources (${req.getType()}) is not supported by the engine harness`),
          { code: grpc.status.UNIMPLEMENTED },
        );
      }),
      registerResource: unary(async (req: ResourcePb.RegisterResourceRequest) => {
        const outcome = await this.track(this.registerResource(req));
        const res = new resourcePb.RegisterResourceResponse();
        res.setUrn(outcome.urn);
        res.setId(outcome.id);
        res.setObject(structpb.Struct.fromJavaScript(outcome.object as Record<string, never>));
        res.setStable(false);
        const deps = res.getPropertydependenciesMap();
        for (const [k, urns] of Object.entries(outcome.propertyDependencies)) {
          const pd = new resourcePb.RegisterResourceResponse.PropertyDependencies();
          pd.setUrnsList(urns);
          deps.set(k, pd);
        }
        res.setResult(outcome.failed ? resourcePb.Result.FAIL : resourcePb.Result.SUCCESS);
        return res;
      }),
      registerResourceOutputs: unary(async (req: ResourcePb.RegisterResourceOutputsRequest) => {
        await this.track(this.registerOutputs(req.getUrn(), normalize(req.getOutputs()?.toJavaScript())));
        return new emptypb.Empty();
      }),
      signalAndWaitForShutdown: unary(async () => {
        await this.finish();
        return new emptypb.Empty();
      }),
    };
  }

  private engineService(): GrpcJs.UntypedServiceImplementation {
    const { emptypb, enginePb } = this.protos;
    const S = enginePb.LogSeverity;
    return {
      log: (
        call: GrpcJs.ServerUnaryCall<EnginePb.LogRequest, EmptyPb.Empty>,
        cb: GrpcJs.sendUnaryData<EmptyPb.Empty>,
      ) => {
        const req = call.request;
        const sev = req.getSeverity();
        const urn = req.getUrn();
        const label =
          urn && urnQualifiedType(urn) !== STACK_TYPE ? `${urnType(urn)} (${urnName(urn)}): ` : "";
        const msg = req.getMessage().replace(/\n$/, "");
        if (sev === S.ERROR) {
          if (this.failed) this.print(`error: ${label}${msg}`);
          else this.error(msg, urn && urnQualifiedType(urn) !== STACK_TYPE ? urn : undefined);
        } else if (sev === S.WARNING) this.print(`warning: ${label}${msg}`);
        else if (sev === S.INFO) this.print(`info: ${label}${msg}`);
        // DEBUG messages are dropped, like the CLI without --debug.
        cb(null, new emptypb.Empty());
      },
      getRootResource: (
        _call: GrpcJs.ServerUnaryCall<EnginePb.GetRootResourceRequest, EnginePb.GetRootResourceResponse>,
        cb: GrpcJs.sendUnaryData<EnginePb.GetRootResourceResponse>,
      ) => {
        const res = new enginePb.GetRootResourceResponse();
        res.setUrn(this.stackUrn);
        cb(null, res);
      },
      setRootResource: (
        call: GrpcJs.ServerUnaryCall<EnginePb.SetRootResourceRequest, EnginePb.SetRootResourceResponse>,
        cb: GrpcJs.sendUnaryData<EnginePb.SetRootResourceResponse>,
      ) => {
        this.stackUrn = call.request.getUrn();
        cb(null, new enginePb.SetRootResourceResponse());
      },
      requirePulumiVersion: (
        _call: GrpcJs.ServerUnaryCall<
          EnginePb.RequirePulumiVersionRequest,
          EnginePb.RequirePulumiVersionResponse
        >,
        cb: GrpcJs.sendUnaryData<EnginePb.RequirePulumiVersionResponse>,
      ) => cb(null, new enginePb.RequirePulumiVersionResponse()),
    };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Registrations

  private urnFor(parent: string, type: string, name: string): string {
    let parentType = "";
    if (parent && urnQualifiedType(parent) !== STACK_TYPE) parentType = `${urnQualifiedType(parent)}$`;
    return `urn:pulumi:${this.stack}::${this.project.name}::${parentType}${type}::${name}`;
  }

  private async registerResource(req: ResourcePb.RegisterResourceRequest): Promise<RegisterOutcome> {
    const type = req.getType();
    const name = req.getName();
    const parent = req.getParent();
    const urn = this.urnFor(parent, type, name);
    const propertyDependencies: Record<string, string[]> = {};
    for (const [k, v] of req.getPropertydependenciesMap().entries()) {
      const urns = v.getUrnsList();
      if (urns.length > 0) propertyDependencies[k] = [...urns];
    }
    const goal: Goal = {
      type,
      name,
      urn,
      parent,
      custom: req.getCustom(),
      props: normalize(req.getObject()?.toJavaScript()),
      dependencies: [...new Set(req.getDependenciesList())],
      propertyDependencies,
      protect: req.getProtect() ?? false,
      deleteBeforeReplace: req.getDeletebeforereplacedefined() ? req.getDeletebeforereplace() : undefined,
      ignoreChanges: req.getIgnorechangesList(),
      additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
      retainOnDelete: req.getRetainondelete() ?? false,
      provider: req.getProvider(),
    };
    if (this.registered.has(urn)) {
      this.failed = true;
      this.error(`Duplicate resource URN '${urn}'; try giving it a unique name`);
      throw Object.assign(new Error(`Duplicate resource URN '${urn}'`), {
        code: this.protos.grpc.status.INVALID_ARGUMENT,
      });
    }
    this.registered.add(urn);
    if (this.failed) {
      // The deployment already failed: like the engine cancelling, start nothing new.
      throw Object.assign(new Error("the deployment failed; the resource monitor is shutting down"), {
        code: this.protos.grpc.status.UNAVAILABLE,
      });
    }
    if (!goal.custom) return this.registerComponent(goal);
    try {
      return await this.registerCustom(goal);
    } catch (e) {
      if (!(e instanceof StepFailed)) {
        this.failed = true;
        this.error(errorMessage(e), urn);
      }
      return { urn, id: "", object: {}, propertyDependencies, failed: true };
    }
  }

  private registerComponent(goal: Goal): RegisterOutcome {
    const old = this.olds.get(goal.urn);
    const now = nowIso();
    const entry: StateResource = compact({
      urn: goal.urn,
      custom: false,
      type: goal.type,
      inputs: goal.props,
      outputs: old?.outputs ?? {},
      parent: goal.parent || undefined,
      protect: goal.protect || undefined,
      retainOnDelete: goal.retainOnDelete || undefined,
      dependencies: goal.dependencies,
      propertyDependencies: goal.propertyDependencies,
      created: old?.created ?? now,
      modified: old ? (deepEqual(old.inputs ?? {}, goal.props) ? old.modified : now) : now,
    });
    if (goal.type === STACK_TYPE) this.stackUrn = goal.urn;
    const op: StepOp = !old ? "create" : deepEqual(old.inputs ?? {}, goal.props) ? "same" : "update";
    this.replaceEntry(old, entry);
    this.checkpoint();
    this.recordStep({
      name: goal.name,
      type: goal.type,
      urn: goal.urn,
      op,
      ...(op === "update" ? { diffs: changedKeys(old?.inputs ?? {}, goal.props) } : {}),
    });
    return {
      urn: goal.urn,
      id: "",
      object: entry.outputs ?? {},
      propertyDependencies: goal.propertyDependencies,
      failed: false,
    };
  }

  private async registerOutputs(urn: string, outputs: PropertyMap): Promise<void> {
    const entry = this.live.find((r) => r.urn === urn && !r.delete);
    if (!entry) throw new Error(`RegisterResourceOutputs: unknown resource ${urn}`);
    if (deepEqual(entry.outputs ?? {}, outputs)) return;
    const next = { ...entry, outputs };
    this.replaceEntry(entry, next);
    this.checkpoint();
  }

  /** The default `pulumi:providers:pulumi-nodejs` provider: registered in state like the engine does. */
  private ensureDefaultProvider(): Promise<string> {
    if (!this.defaultProvider) {
      this.defaultProvider = (async () => {
        const urn = `urn:pulumi:${this.stack}::${this.project.name}::${NODEJS_PROVIDER_TYPE}::default`;
        const old = this.olds.get(urn);
        const inputs = this.providerInputs();
        const now = nowIso();
        const same = old !== undefined && deepEqual(old.inputs ?? {}, inputs);
        const entry: StateResource = compact({
          urn,
          custom: true,
          id: old?.id ?? crypto.randomUUID(),
          type: NODEJS_PROVIDER_TYPE,
          inputs,
          outputs: cloneJson(inputs),
          created: old?.created ?? now,
          modified: same ? old?.modified : now,
        });
        this.registered.add(urn);
        this.replaceEntry(old, entry);
        this.checkpoint();
        return `${urn}::${entry.id}`;
      })();
    }
    return this.defaultProvider;
  }

  private async registerCustom(goal: Goal): Promise<RegisterOutcome> {
    const { urn } = goal;
    if (!goal.type.startsWith(DYNAMIC_PREFIX)) {
      throw this.fail(
        `resource type ${goal.type} is not supported by the engine harness (only ${DYNAMIC_PREFIX} resources)`,
        urn,
      );
    }
    const providerRef = await this.ensureDefaultProvider();
    if (goal.provider && goal.provider !== providerRef) {
      throw this.fail(`explicit provider ${goal.provider} is not supported by the engine harness`, urn);
    }
    const old = this.olds.get(urn);
    const respond = (state: StateResource, failed = false): RegisterOutcome => ({
      urn,
      id: this.preview && state.id === undefined ? "" : (state.id ?? ""),
      object: state.outputs ?? {},
      propertyDependencies: goal.propertyDependencies,
      failed,
    });

    // Check (with the old inputs when there are some; ignoreChanges carries old values forward first).
    let inputs = goal.props;
    if (old) inputs = processIgnoreChanges(inputs, old.inputs ?? {}, goal.ignoreChanges);
    const checked = await this.check(goal, old ? (old.inputs ?? {}) : {}, inputs);

    const now = nowIso();
    const base: StateResource = compact({
      urn,
      custom: true,
      type: goal.type,
      inputs: checked,
      parent: goal.parent || undefined,
      protect: goal.protect || undefined,
      retainOnDelete: goal.retainOnDelete || undefined,
      provider: providerRef,
      dependencies: goal.dependencies,
      propertyDependencies: goal.propertyDependencies,
      additionalSecretOutputs: goal.additionalSecretOutputs.length ? goal.additionalSecretOutputs : undefined,
      ignoreChanges: goal.ignoreChanges.length ? goal.ignoreChanges : undefined,
    });

    if (!old) {
      const state = await this.create(goal, base, now, undefined, false);
      return respond(state);
    }

    // Diff against the old OUTPUTS (plus the old inputs), like the engine.
    const oldInputs = old.inputs ?? {};
    const oldOutputs = old.outputs ?? {};
    const diff = await this.call((h) =>
      h.diff(
        old.id ?? "",
        urn,
        removeSecretsMap(oldOutputs),
        removeSecretsMap(checked),
        removeSecretsMap(oldInputs),
        goal.ignoreChanges,
      ),
    ).catch((e: unknown) => {
      throw this.fail(`diffing: ${errorMessage(e)}`, urn);
    });
    const inputDiff = changedKeys(oldInputs, processIgnoreChanges(checked, oldInputs, goal.ignoreChanges));
    let changes = diff.changes;
    if (changes === "unknown") changes = inputDiff.length > 0 ? "some" : "none";
    const replaces = changes === "some" ? diff.replaces : [];

    if ((changes === "some" && replaces.length > 0) || old.pendingReplacement) {
      if (goal.protect && old.protect) {
        throw this.fail(
          `unable to replace resource "${urn}"\nas it is currently marked for protection. To unprotect the resource, ` +
            "remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`",
          urn,
        );
      }
      // The engine re-runs Check without the old inputs: defaults must be recomputed for the replacement.
      const rechecked = await this.check(goal, {}, goal.props);
      const dbr = goal.deleteBeforeReplace ?? diff.deleteBeforeReplace;
      const next = { ...base, inputs: rechecked };
      const stepInfo = { replaces: replaces.length ? replaces : ["<pending replacement>"], diffs: inputDiff };
      if (dbr && !this.preview && !old.pendingReplacement) {
        await this.deleteOne(old, true);
        const pending = { ...old, pendingReplacement: true };
        this.replaceEntry(old, pending);
        this.olds.set(urn, pending);
        this.save();
        const state = await this.create(goal, next, now, pending, false, stepInfo);
        return respond(state);
      }
      const state = await this.create(goal, next, now, old, !dbr, stepInfo);
      return respond(state);
    }

    if (changes === "some" || (old.initErrors?.length ?? 0) > 0) {
      const state = await this.update(goal, base, old, inputDiff);
      return respond(state);
    }

    // Same: keep the old id and outputs, take the new inputs.
    const outputs = applyAdditionalSecretOutputs(cloneJson(oldOutputs), goal.additionalSecretOutputs);
    const state: StateResource = compact({
      ...base,
      id: old.id,
      outputs,
      created: old.created,
      modified: old.modified,
    });
    this.replaceEntry(old, reorder(state));
    this.checkpoint();
    this.recordStep({ name: goal.name, type: goal.type, urn, op: "same" });
    return respond(state);
  }

  private async check(goal: Goal, olds: PropertyMap, news: PropertyMap): Promise<PropertyMap> {
    const res = await this.call((h) =>
      h.check(goal.urn, removeSecretsMap(olds), removeSecretsMap(news)),
    ).catch((e: unknown) => {
      throw this.fail(`checking inputs: ${errorMessage(e)}`, goal.urn);
    });
    if (res.failures.length > 0) {
      this.failed = true;
      for (const f of res.failures) {
        this.error(f.property ? `${f.property}: ${f.reason}` : f.reason, goal.urn);
      }
      throw new StepFailed(`resource ${goal.urn} is invalid`);
    }
    return annotateSecrets(res.inputs, news);
  }

  /**
   * Create (or the create half of a replacement). `old` is the resource being replaced; `pendingDelete` marks it
   * for deletion at the end of the run (create-before-delete).
   */
  private async create(
    goal: Goal,
    next: StateResource,
    now: string,
    old: StateResource | undefined,
    pendingDelete: boolean,
    replace?: { replaces: string[]; diffs: string[] },
  ): Promise<StateResource> {
    const step: Step = replace
      ? { name: goal.name, type: goal.type, urn: goal.urn, op: "replace", ...replace }
      : { name: goal.name, type: goal.type, urn: goal.urn, op: "create" };
    const inputs = next.inputs ?? {};
    if (this.preview) {
      // The engine's preview Create returns the inputs as the state; the id stays unknown.
      const state = reorder({
        ...next,
        outputs: applyAdditionalSecretOutputs(cloneJson(inputs), goal.additionalSecretOutputs),
      });
      this.recordStep(step);
      return state;
    }
    if (this.failed) throw new StepFailed("deployment failed");
    let id: string;
    let outputs: PropertyMap;
    let initErrors: string[] | undefined;
    let failure: string | undefined;
    try {
      const res = await this.call((h) => h.create(goal.urn, removeSecretsMap(inputs)));
      id = res.id;
      outputs = res.properties;
      if (!id) throw new ProviderError("provider did not return an ID from Create");
    } catch (e) {
      if (e instanceof ProviderError && e.initFailed) {
        id = e.initFailed.id;
        outputs = e.initFailed.properties;
        initErrors = e.initFailed.reasons;
        failure = e.message;
      } else {
        throw this.fail(`creating failed: ${errorMessage(e)}`, goal.urn);
      }
    }
    outputs = applyAdditionalSecretOutputs(annotateSecrets(outputs, inputs), goal.additionalSecretOutputs);
    const state = reorder(compact({ ...next, id, outputs, initErrors, created: now, modified: now }));
    if (old && pendingDelete) {
      // Create-before-delete: the old resource stays in state, marked for deletion at the end of the run.
      const marked = { ...old, delete: true };
      this.replaceEntry(old, marked);
      this.pendingDeletes.push(marked);
      this.replacedThisRun.add(marked);
      this.live.push(state);
    } else {
      this.replaceEntry(old, state);
    }
    this.checkpoint();
    this.recordStep(step);
    if (failure !== undefined) {
      throw this.fail(`resource was created but failed to initialize: ${failure}`, goal.urn);
    }
    return state;
  }

  private async update(
    goal: Goal,
    next: StateResource,
    old: StateResource,
    diffs: string[],
  ): Promise<StateResource> {
    const step: Step = { name: goal.name, type: goal.type, urn: goal.urn, op: "update", diffs };
    const inputs = next.inputs ?? {};
    if (this.preview) {
      const outputs = applyAdditionalSecretOutputs(cloneJson(inputs), goal.additionalSecretOutputs);
      const state = reorder({ ...next, id: old.id, outputs, created: old.created, modified: old.modified });
      this.recordStep(step);
      return state;
    }
    if (this.failed) throw new StepFailed("deployment failed");
    let outputs: PropertyMap;
    let initErrors: string[] | undefined;
    let failure: string | undefined;
    try {
      outputs = await this.call((h) =>
        h.update(
          old.id ?? "",
          goal.urn,
          removeSecretsMap(old.outputs ?? {}),
          removeSecretsMap(inputs),
          removeSecretsMap(old.inputs ?? {}),
          goal.ignoreChanges,
        ),
      );
    } catch (e) {
      if (e instanceof ProviderError && e.initFailed) {
        outputs = e.initFailed.properties;
        initErrors = e.initFailed.reasons;
        failure = e.message;
      } else {
        throw this.fail(`updating failed: ${errorMessage(e)}`, goal.urn);
      }
    }
    outputs = applyAdditionalSecretOutputs(annotateSecrets(outputs, inputs), goal.additionalSecretOutputs);
    const state = reorder(
      compact({ ...next, id: old.id, outputs, initErrors, created: old.created, modified: nowIso() }),
    );
    this.replaceEntry(old, state);
    this.checkpoint();
    this.recordStep(step);
    if (failure !== undefined) throw this.fail(`resource failed to initialize: ${failure}`, goal.urn);
    return state;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Deletes

  /** Provider Delete for one resource (unless retained / not custom); does not touch the state list. */
  private async deleteOne(r: StateResource, replacing: boolean): Promise<void> {
    if (!replacing && r.protect) {
      throw this.fail(
        `resource "${r.urn}" cannot be deleted\nbecause it is protected. To unprotect the resource, either remove ` +
          "the `protect` flag from the resource in your Pulumi program and run `pulumi up`, or use the command:\n" +
          `\`pulumi state unprotect '${r.urn}'\``,
        r.urn,
      );
    }
    if (this.preview || r.retainOnDelete || !r.custom || r.type.startsWith("pulumi:providers:")) return;
    if (this.failed) throw new StepFailed("deployment failed");
    try {
      await this.call((h) =>
        h.delete(r.id ?? "", r.urn, removeSecretsMap(r.outputs ?? {}), removeSecretsMap(r.inputs ?? {})),
      );
    } catch (e) {
      throw this.fail(`deleting failed: ${errorMessage(e)}`, r.urn);
    }
  }

  /**
   * Deletes the given resources in reverse dependency order: a resource is deleted only after every resource in
   * the set that depends on it (dependencies, property dependencies, parent, provider) is gone. Independent
   * deletes run concurrently.
   */
  private async deleteAll(toDelete: StateResource[]): Promise<void> {
    const order = sortTopologically(toDelete);
    const index = new Map(order.map((r, i) => [r, i] as const));
    const done = new Map<StateResource, Promise<boolean>>();
    const dependentsOf = (r: StateResource) =>
      order.filter((x, i) => i > (index.get(r) ?? 0) && x !== r && dependsOn(x, r.urn));
    const visit = (r: StateResource): Promise<boolean> => {
      let p = done.get(r);
      if (!p) {
        p = (async () => {
          const results = await Promise.all(dependentsOf(r).map(visit));
          if (results.some((ok) => !ok) || this.failed) return false;
          try {
            if (r.pendingReplacement) {
              // Already deleted by a delete-before-replace whose create did not happen: just drop it.
              this.removeEntry(r);
              this.checkpoint();
              return true;
            }
            await this.deleteOne(r, r.delete === true);
            if (!this.preview) {
              this.removeEntry(r);
              this.checkpoint();
            }
            // The delete half of a replacement made in this run is part of its "replace" step; the default
            // provider is internal to the engine and never displayed.
            if (!this.replacedThisRun.has(r) && r.type !== NODEJS_PROVIDER_TYPE) {
              this.recordStep({ name: urnName(r.urn), type: r.type, urn: r.urn, op: "delete" });
            }
            return true;
          } catch (e) {
            if (!(e instanceof StepFailed)) this.fail(errorMessage(e), r.urn);
            return false;
          }
        })();
        done.set(r, p);
      }
      return p;
    };
    await Promise.all(order.map(visit));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Refresh

  private async refreshAll(): Promise<void> {
    const targets = this.live.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"));
    const dropped = new Set<string>();
    await Promise.all(
      targets.map(async (r) => {
        if (this.failed) return;
        let res: { id: string; properties: PropertyMap; inputs?: PropertyMap };
        try {
          res = await this.call((h) =>
            h.read(r.id ?? "", r.urn, removeSecretsMap(r.outputs ?? {}), removeSecretsMap(r.inputs ?? {})),
          );
        } catch (e) {
          this.fail(`refreshing failed: ${errorMessage(e)}`, r.urn);
          return;
        }
        const step = { name: urnName(r.urn), type: r.type, urn: r.urn };
        if (!res.id) {
          this.removeEntry(r);
          dropped.add(r.urn);
          this.checkpoint();
          this.recordStep({ ...step, op: "read", diffs: ["<deleted>"] });
          return;
        }
        const outputs = applyAdditionalSecretOutputs(
          annotateSecrets(res.properties, r.outputs ?? {}),
          r.additionalSecretOutputs,
        );
        const inputs = res.inputs ? annotateSecrets(res.inputs, r.inputs ?? {}) : (r.inputs ?? {});
        const diffs = [
          ...new Set([
            ...changedKeys(r.outputs ?? {}, outputs),
            ...changedKeys(r.inputs ?? {}, inputs).map((k) => `inputs.${k}`),
            ...(res.id !== r.id ? ["id"] : []),
          ]),
        ];
        if (diffs.length === 0) {
          if (this.verb === "refresh") this.recordStep({ ...step, op: "same" });
          return;
        }
        const next = reorder({ ...r, id: res.id, inputs, outputs, modified: nowIso() });
        this.replaceEntry(r, next);
        this.checkpoint();
        this.recordStep({ ...step, op: "read", diffs });
      }),
    );
    if (dropped.size > 0) {
      // Like the engine after a refresh deletes resources: drop references to them.
      this.live = this.live.map((r) => {
        const deps = r.dependencies?.filter((d) => !dropped.has(d));
        const propDeps: Record<string, string[]> = {};
        for (const [k, v] of Object.entries(r.propertyDependencies ?? {})) {
          const kept = v.filter((d) => !dropped.has(d));
          if (kept.length) propDeps[k] = kept;
        }
        return compact({ ...r, dependencies: deps, propertyDependencies: propDeps });
      });
      this.checkpoint();
    }
  }
}

// -----------------------------------------------------------------------------------------------------------------
// Helpers

function dependsOn(r: StateResource, urn: string): boolean {
  if (r.parent === urn) return true;
  if (r.dependencies?.includes(urn)) return true;
  if (r.provider && r.provider.startsWith(`${urn}::`)) return true;
  return Object.values(r.propertyDependencies ?? {}).some((l) => l.includes(urn));
}

/**
 * Stable topological order (dependencies first), like the snapshot the engine writes. A resource's
 * dependencies are the live (non-pending-delete) resources with the URNs it refers to.
 */
export function sortTopologically(resources: readonly StateResource[]): StateResource[] {
  const byUrn = new Map<string, StateResource[]>();
  for (const r of resources) {
    const l = byUrn.get(r.urn) ?? [];
    l.push(r);
    byUrn.set(r.urn, l);
  }
  const refs = (r: StateResource): StateResource[] => {
    const urns = new Set<string>([
      ...(r.parent ? [r.parent] : []),
      ...(r.dependencies ?? []),
      ...Object.values(r.propertyDependencies ?? {}).flat(),
      ...(r.provider ? [r.provider.split("::").slice(0, -1).join("::")] : []),
    ]);
    const out: StateResource[] = [];
    for (const u of urns) {
      for (const x of byUrn.get(u) ?? []) if (x !== r && (!x.delete || r.delete)) out.push(x);
    }
    return out;
  };
  const result: StateResource[] = [];
  const state = new Map<StateResource, "visiting" | "done">();
  const visit = (r: StateResource) => {
    const s = state.get(r);
    if (s === "done" || s === "visiting") return; // a cycle (never produced by the engine) keeps input order
    state.set(r, "visiting");
    for (const d of refs(r)) visit(d);
    state.set(r, "done");
    result.push(r);
  };
  for (const r of resources) visit(r);
  return result;
}

/** Drops undefined fields and empty dependency lists/maps, like the engine's `omitempty` state fields. */
function compact(r: StateResource): StateResource {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    if (v === undefined) continue;
    if ((k === "dependencies" || k === "initErrors") && Array.isArray(v) && v.length === 0) continue;
    if (k === "propertyDependencies" && Object.keys(v as object).length === 0) continue;
    out[k] = v;
  }
  return out as unknown as StateResource;
}

const FIELD_ORDER = [
  "urn",
  "custom",
  "delete",
  "id",
  "type",
  "inputs",
  "outputs",
  "parent",
  "protect",
  "retainOnDelete",
  "provider",
  "initErrors",
  "dependencies",
  "propertyDependencies",
  "pendingReplacement",
  "additionalSecretOutputs",
  "ignoreChanges",
  "created",
  "modified",
];

/** Field order of `pulumi stack export`. */
function reorder(r: StateResource): StateResource {
  const c = compact(r) as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of FIELD_ORDER) if (k in c) out[k] = c[k];
  for (const k of Object.keys(c)) if (!(k in out)) out[k] = c[k];
  return out as unknown as StateResource;
}

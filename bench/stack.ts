// A stack of a benchmark program on the real Pulumi engine, each command run in processes of its own, as a
// user's would be: `node dist/engine/pulumi.js` (the program process, which stands in for the Node.js language
// host and serves the program) starts the real `pulumi` binary (the engine), which starts the dynamic-provider
// host. Each run returns its wall time and the CPU time and peak memory of each of those processes.
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { CLI_PATH, ensureCli, offlineEnv, tempDir } from "../engine/cli";
import { statCpuMs, type ProcReport } from "./proc-report";
import { BENCH_PROGRAM, measured, type EmulatorProcess, type Sample } from "./util";

const PULUMI_JS = path.join(__dirname, "..", "engine", "pulumi.js");
const PRELOAD = path.join(__dirname, "proc-report.js");
const STACK = "bench";
const PASSPHRASE = "pulumi-dynamiq-bench";

/**
 * The engine writes the whole state to the file backend after every step, so its share of a run grows with the
 * square of the stack's size (the scale benchmark measures it). The benchmarks that time the path of each call
 * (program, engine, host, API) set this engine switch, so that the state is saved once, at the end of the run.
 */
export const SKIP_CHECKPOINTS = { PULUMI_SKIP_CHECKPOINTS: "true" };

export type Verb = "up" | "refresh" | "destroy";

/** The providers the benchmark program can run its connections through (`provider` in its config). */
export type Provider = "ours" | "thinnest" | "naive";

export interface RunOptions {
  parallel: number;
  /** `--expect-no-changes` (the CLI exits 7 when something changed). */
  expectNoChanges?: boolean;
  /** Extra environment for this run's processes (NODE_OPTIONS is added to, not replaced). */
  env?: Record<string, string>;
  /** Extra arguments for the CLI (e.g. `-v=7 --logtostderr`). */
  args?: string[];
}

/** Where a run's CPU time went, by process, in ms. */
export interface CpuByProcess {
  /** The `pulumi` binary (and the launcher script's shell). */
  engine: number;
  /** The program process (engine/pulumi.js and the program it serves). */
  program: number;
  /** The dynamic-provider host(s). */
  host: number;
  /** The `node -e` the host's launcher script runs to find the host. */
  launcher: number;
}

export interface CommandResult {
  verb: Verb;
  exitCode: number;
  wallMs: number;
  cpuMs: CpuByProcess;
  /** The highest peak resident memory of the run's dynamic-provider hosts. */
  hostPeakRssBytes?: number;
  /** What the CLI printed (stdout and stderr). */
  log: string;
  /** The role of each Node.js process of the run, by pid. */
  pids: Record<number, ProcReport["role"]>;
}

/** The parts of `pulumi stack export` the benchmarks read. */
export interface ExportedState {
  deployment: { resources?: Array<{ type: string; inputs?: Record<string, unknown> }> };
}

const execFileAsync = promisify(execFile);

/** A fresh stack (its own file backend and PULUMI_HOME in a temporary folder) of one program folder. */
export class BenchStack {
  private readonly dir = tempDir("dynamiq-bench-");
  /** A folder holding a copy of the program's Pulumi.yaml and the stack settings, so none land in the program's. */
  private readonly settingsDir = path.join(this.dir, "project");
  private readonly configFile = path.join(this.settingsDir, `Pulumi.${STACK}.yaml`);
  private runs = 0;

  private constructor(readonly programDir: string) {
    for (const d of ["backend", "home", "project", "procs"]) fs.mkdirSync(path.join(this.dir, d));
    fs.copyFileSync(path.join(programDir, "Pulumi.yaml"), path.join(this.settingsDir, "Pulumi.yaml"));
  }

  /** Creates the stack and sets its config (`pulumi stack init`, one `pulumi config set-all`). */
  static async create(
    programDir: string,
    config: Record<string, string>,
    secrets: Record<string, string>,
  ): Promise<BenchStack> {
    ensureCli();
    const s = new BenchStack(programDir);
    await s.cli(["stack", "init", STACK]);
    const pairs = [
      ...Object.entries(config).flatMap(([k, v]) => ["--plaintext", `${k}=${v}`]),
      ...Object.entries(secrets).flatMap(([k, v]) => ["--secret", `${k}=${v}`]),
    ];
    await s.cli(["config", "set-all", "-s", STACK, ...pairs]);
    return s;
  }

  private env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const own = {
      PULUMI_BACKEND_URL: `file://${path.join(this.dir, "backend")}`,
      PULUMI_HOME: path.join(this.dir, "home"),
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    };
    return { ...process.env, ...offlineEnv({ ...process.env, ...own }), ...own, ...extra };
  }

  /** Runs the CLI on the stack settings (no program); resolves with stdout. */
  async cli(args: string[]): Promise<string> {
    const { stdout } = await execFileAsync(CLI_PATH, ["-C", this.settingsDir, ...args, "--non-interactive"], {
      env: this.env(),
      maxBuffer: 512 * 1024 * 1024,
    });
    return stdout;
  }

  /** `pulumi stack export` (secrets stay ciphertext). */
  async exportState(): Promise<{ state: ExportedState; bytes: number }> {
    const text = await this.cli(["stack", "export", "-s", STACK]);
    return { state: JSON.parse(text) as ExportedState, bytes: Buffer.byteLength(text) };
  }

  /** One `pulumi <verb>` of the program, through engine/pulumi.js, timed and accounted by process. */
  async run(verb: Verb, opts: RunOptions): Promise<CommandResult> {
    const procDir = path.join(this.dir, "procs", `${++this.runs}-${verb}`);
    fs.mkdirSync(procDir);
    const { NODE_OPTIONS: extraNodeOptions, ...extraEnv } = opts.env ?? {};
    const nodeOptions = [process.env.NODE_OPTIONS, `--require ${PRELOAD}`, extraNodeOptions].filter(Boolean);
    const args = [
      PULUMI_JS,
      "-C",
      this.programDir,
      verb,
      "--yes",
      "--skip-preview",
      "--non-interactive",
      "--stack",
      STACK,
      "--config-file",
      this.configFile,
      "--parallel",
      String(opts.parallel),
      ...(opts.expectNoChanges ? ["--expect-no-changes"] : []),
      ...(opts.args ?? []),
    ];
    const started = performance.now();
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: this.env({ ...extraEnv, NODE_OPTIONS: nodeOptions.join(" "), BENCH_PROC_DIR: procDir }),
    });
    let log = "";
    child.stdout.setEncoding("utf8").on("data", (t: string) => (log += t));
    child.stderr.setEncoding("utf8").on("data", (t: string) => (log += t));
    const engine = new EngineSampler(child.pid!);
    // "close": the process has exited and what it printed has been read.
    const exitCode = await new Promise<number>((resolve) =>
      child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : 1))),
    );
    const wallMs = performance.now() - started;
    engine.stop();
    const reports = fs
      .readdirSync(procDir)
      .map((f) => JSON.parse(fs.readFileSync(path.join(procDir, f), "utf8")) as ProcReport);
    const of = (role: ProcReport["role"]) => reports.filter((r) => r.role === role);
    const sum = (rs: ProcReport[]) => rs.reduce((a, r) => a + r.cpuMs, 0);
    const [host, launcher] = [sum(of("host")), sum(of("other"))];
    const credited = of("program").reduce((a, r) => a + r.childrenCpuMs, 0) - host - launcher;
    const peak = (rs: ProcReport[]) => (rs.length ? Math.max(...rs.map((r) => r.maxRssBytes)) : undefined);
    return {
      verb,
      exitCode,
      wallMs,
      cpuMs: {
        // Exact when the program process waited for the engine and the engine (through the launcher's shell) for
        // the hosts: then the children's CPU time the kernel credited to the program process is the engine's,
        // the hosts' and the launchers'. The sample is the floor, should a host have been reparented.
        engine: Number.isFinite(credited) ? Math.max(engine.cpuMs, credited) : engine.cpuMs,
        program: sum(of("program")),
        host,
        launcher,
      },
      hostPeakRssBytes: peak(of("host")),
      pids: Object.fromEntries(reports.map((r) => [r.pid, r.role])),
      log,
    };
  }

  dispose(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Follows the `pulumi` binary, a child of the program process: its own CPU time, from /proc every 50 ms (a Go
 * process cannot be preloaded with a reporter), so the last sample before it exits is a floor.
 */
class EngineSampler {
  cpuMs = 0;
  private pid: number | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly parent: number) {
    this.timer = setInterval(() => this.sample(), 50);
  }

  private sample(): void {
    try {
      this.pid ??= findChild(this.parent, "pulumi");
      if (this.pid === undefined) return;
      this.cpuMs = statCpuMs(fs.readFileSync(`/proc/${this.pid}/stat`, "utf8"));
    } catch {
      // gone (or no /proc)
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** The pid of a child of `parent` whose command name is `comm`, from /proc. */
function findChild(parent: number, comm: string): number | undefined {
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent && name === comm) return Number(d);
    } catch {
      // gone in between
    }
  }
  return undefined;
}

let stacks = 0;

/** A new stack of the benchmark program: `count` connections through `provider`, against the emulator. */
export function connectionStack(
  emu: EmulatorProcess,
  provider: Provider,
  count: number,
): Promise<BenchStack> {
  return BenchStack.create(
    BENCH_PROGRAM,
    {
      count: String(count),
      provider,
      projectId: emu.dynamiq.projectId,
      // Connection names differ from one stack to the next: the emulator outlives them.
      tag: `${provider}-${process.pid}-${++stacks}`,
      "dynamiq:baseUrl": emu.dynamiq.baseUrl,
    },
    { "dynamiq:token": emu.dynamiq.userPat },
  );
}

/**
 * One command as a benchmark sample: its wall time, the CPU time of each process (the emulator's included) and the
 * emulator's count of API calls and TCP connections. A failed command (or, with `expectNoChanges`, one that
 * changed something) throws with what the CLI printed.
 */
export async function runMeasured(
  stack: BenchStack,
  emu: EmulatorProcess,
  verb: Verb,
  opts: RunOptions,
): Promise<Sample & { result: CommandResult }> {
  const m = await measured(emu, () => stack.run(verb, opts));
  const r = m.result;
  if (r.exitCode !== 0) throw new Error(`pulumi ${verb} exited ${r.exitCode}:\n${r.log.slice(-4000)}`);
  return {
    result: r,
    wallMs: r.wallMs,
    cpuMs: { ...r.cpuMs, emulator: m.emulatorCpuMs },
    apiCalls: m.api.total,
    tcpConnections: m.api.connections,
    hostPeakRssBytes: r.hostPeakRssBytes,
  };
}

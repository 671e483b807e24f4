// Small helpers shared by the benchmarks: clocks, statistics, tables, the emulator's counters and the peak
// memory of the dynamic-provider host process.
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import readline from "node:readline";
import { request } from "undici";
import type { DynamiqSeed } from "../emulator/server";

export const ROOT = path.resolve(__dirname, "..", "..");
/** The program the scale benchmark runs, and the working directory of every host the benchmarks start. */
export const SCALE_PROGRAM = path.join(ROOT, "test", "fixtures", "programs", "scale");
export const RESULTS_DIR = path.join(ROOT, "bench", "results");

export const now = () => performance.now();

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Runs `work(i)` for i in [0, n) with at most `concurrency` in flight; returns the per-item latencies. */
export async function pool(n: number, concurrency: number, work: (i: number) => Promise<void>) {
  const latencies: number[] = new Array(n);
  let next = 0;
  const started = now();
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      for (let i = next++; i < n; i = next++) {
        const t = now();
        await work(i);
        latencies[i] = now() - t;
      }
    }),
  );
  return { wallMs: now() - started, latencies };
}

/** Prints an aligned table to stdout. */
export function table(title: string, header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, ...rows.map((r) => r.map((c) => String(c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of cells.slice(1)) console.log(line(r));
}

export interface Counters {
  total: number;
  routes: Record<string, number>;
  connections: number;
}

/** Anything with the emulator's base URL (its admin surface lives under it). */
export interface EmulatorLike {
  baseUrl: string;
}

export interface EmulatorProcess extends EmulatorLike {
  pid: number;
  dynamiq: DynamiqSeed;
  close(): Promise<void>;
}

/** Starts the emulator in its own process (bench/emulator-process.ts). */
export async function spawnEmulator(latencyMs: number): Promise<EmulatorProcess> {
  const proc = spawn(process.execPath, [path.join(__dirname, "emulator-process.js"), String(latencyMs)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: proc.stdout! }).once("line", resolve);
    proc.once("exit", (code) => reject(new Error(`emulator process exited (${code})`)));
  });
  const info = JSON.parse(line) as { baseUrl: string; dynamiq: DynamiqSeed };
  return {
    ...info,
    pid: proc.pid!,
    close: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.kill("SIGTERM");
      }),
  };
}

/** CPU time (user + system, ms) a process has used so far, from /proc; NaN where /proc is not there. */
export function cpuMsOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields 14 and 15 (utime, stime) are at 11 and 12 after the command; clock ticks, 100 per second
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Pids of this process's children whose command line contains `needle`. */
export function childPids(needle: string): number[] {
  const out: number[] = [];
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(needle))
        out.push(Number(pid));
    } catch {
      // gone
    }
  }
  return out;
}

// Admin calls use a connection of their own each time (`reset`), so they never race a keep-alive timeout.
export async function counters(emu: EmulatorLike): Promise<Counters> {
  const res = await request(`${emu.baseUrl}/_admin/requests`, { reset: true });
  const c = (await res.body.json()) as Counters;
  // The emulator counts every accepted connection, this admin request's own included.
  return { ...c, connections: Math.max(0, c.connections - 1) };
}

export async function resetCounters(emu: EmulatorLike): Promise<void> {
  const res = await request(`${emu.baseUrl}/_admin/requests`, { method: "DELETE", reset: true });
  await res.body.dump();
}

/**
 * Watches for dynamic-provider host processes that are children of this process and records the peak resident
 * memory (VmHWM, the kernel's high-water mark) of each, read from /proc until it exits. Linux only; elsewhere
 * the peak stays undefined.
 */
export class HostMemoryWatch {
  private peaks = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;

  start(intervalMs = 100): this {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    return this;
  }

  private sample(): void {
    let pids: string[];
    try {
      pids = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d));
    } catch {
      return;
    }
    for (const pid of pids) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        if (ppid !== process.pid) continue;
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
        if (!cmd.includes("dynamic-provider")) continue;
        const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        if (hwm)
          this.peaks.set(Number(pid), Math.max(this.peaks.get(Number(pid)) ?? 0, Number(hwm[1]) * 1024));
      } catch {
        // gone in between
      }
    }
  }

  /** The highest peak seen since the last call (bytes), then forgets it. */
  take(): number | undefined {
    this.sample();
    const max = this.peaks.size ? Math.max(...this.peaks.values()) : undefined;
    this.peaks.clear();
    return max;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

export function writeResults(name: string, data: unknown): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + "\n");
  return file;
}

export const mb = (bytes: number | undefined) =>
  bytes === undefined ? "n/a" : round(bytes / 1024 / 1024, 1);

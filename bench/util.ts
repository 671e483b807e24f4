// Small helpers shared by the benchmarks: statistics, tables, the emulator in a process of its own and its
// counters, and CPU time from /proc.
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import readline from "node:readline";
import { request } from "undici";
import type { DynamiqSeed } from "../emulator/server";
import { statCpuMs } from "./proc-report";

export const ROOT = path.resolve(__dirname, "..", "..");
/** The program every engine benchmark runs: N connections through ours, the thinnest or the naive provider. */
export const BENCH_PROGRAM = path.join(ROOT, "test", "fixtures", "programs", "bench-connections");
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

/** `xs`, reversed on odd rounds: variants measured one after the other take turns at going first. */
export const inOrder = <T>(xs: T[], round: number): T[] => (round % 2 ? [...xs].reverse() : xs);

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

/** Prints an aligned table to stdout: the first `left` columns aligned left, the others right. */
export function table(title: string, header: string[], rows: Array<Array<string | number>>, left = 1): void {
  const cells = [header, ...rows.map((r) => r.map((c) => String(c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i < left ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
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
    return statCpuMs(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return NaN;
  }
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

/** One measured run of a variant: wall time, CPU time by process (ms) and what the emulator saw. */
export interface Sample {
  wallMs: number;
  cpuMs: Record<string, number>;
  apiCalls: number;
  /** TCP connections the emulator accepted. */
  tcpConnections: number;
  hostPeakRssBytes?: number;
}

/** Runs `work` between two readings of the emulator's counters and CPU time. */
export async function measured<T>(emu: EmulatorProcess, work: () => Promise<T>) {
  await resetCounters(emu);
  const cpu = cpuMsOf(emu.pid);
  const started = now();
  const result = await work();
  const wallMs = now() - started;
  const emulatorCpuMs = cpuMsOf(emu.pid) - cpu;
  return { result, wallMs, emulatorCpuMs, api: await counters(emu) };
}

/** The median of each figure over samples of one variant, with the wall times of all of them. */
export function medianSample(samples: Sample[]): Sample & { wallSamplesMs: number[] } {
  const med = (f: (s: Sample) => number | undefined) => {
    const xs = samples.map(f).filter((x): x is number => x !== undefined);
    return xs.length ? median(xs) : undefined;
  };
  const keys = [...new Set(samples.flatMap((s) => Object.keys(s.cpuMs)))];
  return {
    wallMs: med((s) => s.wallMs)!,
    wallSamplesMs: samples.map((s) => round(s.wallMs, 0)),
    cpuMs: Object.fromEntries(
      keys.map((k) => [
        k,
        round(
          med((s) => s.cpuMs[k])!,
          0,
        ),
      ]),
    ),
    apiCalls: med((s) => s.apiCalls)!,
    tcpConnections: med((s) => s.tcpConnections)!,
    hostPeakRssBytes: med((s) => s.hostPeakRssBytes),
  };
}

export type Figures = ReturnType<typeof medianSample>;

export function writeResults(name: string, data: unknown): string {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + "\n");
  return file;
}

export const mb = (bytes: number | undefined) =>
  bytes === undefined ? "n/a" : round(bytes / 1024 / 1024, 1);

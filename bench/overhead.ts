// Benchmarks 1, 2 and 5 on the real Pulumi engine. N connections created by `pulumi up` and read by `pulumi
// refresh` (`--parallel` 16, 4 or 1), through the same program with our provider, with the thinnest dynamic provider
// possible (bench/thinnest.ts) and, at 16 in flight, with a naive one (bench/naive.ts), side by side with raw undici
// making the same requests with as many in flight, all against the emulator (its own process) with added latency.
// Every round runs each variant at each concurrency, in an order that reverses from one round to the next, so that
// the machine's drift hits them alike. The same rounds measure each provider's fixed cost per command: the same
// `up` and `refresh` of a stack of one resource. The engine logs those (-v=7), which times the host's cold start.
import { Agent, request } from "undici";
import { coldStart, ENGINE_LOG_ARGS, type ColdStart } from "./cold-start";
import { SKIP_CHECKPOINTS, connectionStack, runMeasured, type Provider } from "./stack";
import {
  inOrder,
  measured,
  median,
  medianSample,
  pool,
  round,
  spawnEmulator,
  type Figures,
  type Sample,
} from "./util";

export type Variant = Provider | "raw undici";

export interface OverheadOptions {
  latencyMs: number;
  /** Resources (requests) per run at each concurrency. */
  levels: Array<{ concurrency: number; n: number }>;
  rounds: number;
  /** Also run the naive provider (at 16 in flight, or the highest concurrency measured). */
  naive: boolean;
  log?: (line: string) => void;
}

export interface LevelResult {
  concurrency: number;
  n: number;
  /** `create`: the `pulumi up` (or raw POSTs); `read`: the `pulumi refresh` (or raw GETs). */
  variants: Partial<Record<Variant, { create: Figures; read: Figures }>>;
}

export interface OverheadResult {
  latencyMs: number;
  rounds: number;
  /** Each provider's `up` and `refresh` of a stack of one resource. */
  fixed: Partial<Record<Provider, { create: Figures; read: Figures }>>;
  coldStart: Partial<Record<Provider, ColdStart>>;
  levels: LevelResult[];
}

export async function overhead(o: OverheadOptions): Promise<OverheadResult> {
  const log = o.log ?? (() => undefined);
  const emu = await spawnEmulator(o.latencyMs);
  const naiveAt = Math.max(...o.levels.map((l) => l.concurrency));
  const providers: Provider[] = ["thinnest", "ours", ...(o.naive ? (["naive"] as const) : [])];
  const engineRun = async (provider: Provider, count: number, parallel: number, args: string[] = []) => {
    const stack = await connectionStack(emu, provider, count);
    try {
      const opts = { parallel, args, env: SKIP_CHECKPOINTS };
      const create = await runMeasured(stack, emu, "up", opts);
      const read = await runMeasured(stack, emu, "refresh", opts);
      return { create, read };
    } finally {
      stack.dispose();
    }
  };

  const rawAgent = new Agent({ keepAliveTimeout: 30_000, connections: 64, connect: { timeout: 10_000 } });
  let rawRuns = 0;
  const rawRun = async (n: number, concurrency: number) => {
    const tag = `raw-${process.pid}-${++rawRuns}`;
    const ids: string[] = [];
    const auth = { authorization: `Bearer ${emu.dynamiq.userPat}` };
    const timed = async (work: (i: number) => Promise<void>): Promise<Sample> => {
      const cpu = process.cpuUsage();
      const m = await measured(emu, () => pool(n, concurrency, work));
      const used = process.cpuUsage(cpu);
      return {
        wallMs: m.result.wallMs,
        cpuMs: { client: (used.user + used.system) / 1000, emulator: m.emulatorCpuMs },
        apiCalls: m.api.total,
        tcpConnections: m.api.connections,
      };
    };
    const create = await timed(async (i) => {
      const res = await request(`${emu.dynamiq.baseUrl}/v1/connections`, {
        method: "POST",
        dispatcher: rawAgent,
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({
          name: `${tag}-${i}`,
          project_id: emu.dynamiq.projectId,
          type: "dynamiq.connections.OpenAI",
          config: { api_key: `sk-${tag}-${i}`, url: "https://api.openai.com/v1" },
        }),
      });
      ids[i] = ((await res.body.json()) as { data: { id: string } }).data.id;
    });
    const read = await timed(async (i) => {
      const res = await request(`${emu.dynamiq.baseUrl}/v1/connections/${ids[i]}`, {
        dispatcher: rawAgent,
        headers: auth,
      });
      await res.body.json();
    });
    return { create, read };
  };

  try {
    // Warm-up, not measured: ts-node's cache of the compiled program, the OS's file cache, undici's pool.
    for (const p of providers) await engineRun(p, 1, 1);
    await rawRun(32, 16);

    const fixed: Partial<Record<Provider, { create: Sample[]; read: Sample[] }>> = {};
    const colds: Partial<Record<Provider, ColdStart[]>> = {};
    const samples = o.levels.map(
      () => ({}) as Partial<Record<Variant, { create: Sample[]; read: Sample[] }>>,
    );
    for (let r = 0; r < o.rounds; r++) {
      for (const p of inOrder(providers, r)) {
        const one = await engineRun(p, 1, 1, ENGINE_LOG_ARGS);
        const f = (fixed[p] ??= { create: [], read: [] });
        f.create.push(one.create);
        f.read.push(one.read);
        (colds[p] ??= []).push(coldStart(one.create.result.log, one.read.result.log));
      }
      for (const [i, { concurrency, n }] of o.levels.entries()) {
        const variants: Variant[] = ["raw undici", "thinnest", "ours"];
        if (o.naive && concurrency === naiveAt) variants.push("naive");
        for (const v of inOrder(variants, r)) {
          const t = performance.now();
          const run = v === "raw undici" ? await rawRun(n, concurrency) : await engineRun(v, n, concurrency);
          const s = (samples[i][v] ??= { create: [], read: [] });
          s.create.push(run.create);
          s.read.push(run.read);
          log(
            `overhead round ${r + 1}/${o.rounds}: ${v}, ${n} at ${concurrency} in flight, ${round((performance.now() - t) / 1000, 1)} s`,
          );
        }
      }
    }

    const both = (s: { create: Sample[]; read: Sample[] }) => ({
      create: medianSample(s.create),
      read: medianSample(s.read),
    });
    return {
      latencyMs: o.latencyMs,
      rounds: o.rounds,
      fixed: Object.fromEntries(Object.entries(fixed).map(([p, s]) => [p, both(s)])),
      coldStart: Object.fromEntries(Object.entries(colds).map(([p, cs]) => [p, medianColdStart(cs)])),
      levels: o.levels.map(({ concurrency, n }, i) => ({
        concurrency,
        n,
        variants: Object.fromEntries(Object.entries(samples[i]).map(([v, s]) => [v, both(s)])),
      })),
    };
  } finally {
    await rawAgent.close();
    await emu.close();
  }
}

function medianColdStart(cs: ColdStart[]): ColdStart {
  const keys = ["hostStartMs", "firstCheckMs", "firstCreateMs", "firstReadMs"] as const;
  return Object.fromEntries(
    keys.map((k) => [k, round(median(cs.map((c) => c[k]).filter((x): x is number => x !== undefined)), 1)]),
  );
}

/**
 * What a variant costs per resource once the fixed cost of a command is taken out: (its run of N − the same
 * command on one resource) / (N − 1). Raw undici has no fixed cost: its wall time / N.
 */
export function netMsPerResource(
  r: OverheadResult,
  level: LevelResult,
  variant: Variant,
  phase: "create" | "read",
): number | undefined {
  const v = level.variants[variant];
  if (!v) return undefined;
  if (variant === "raw undici") return v[phase].wallMs / level.n;
  const f = r.fixed[variant];
  return f && (v[phase].wallMs - f[phase].wallMs) / (level.n - 1);
}

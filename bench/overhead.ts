// Benchmarks 1, 2 and 5: the provider driven through the REAL dynamic-provider host (over gRPC, with a
// `__provider` made by Pulumi's real closure serialiser) against the same requests made directly with undici,
// against in-process layers (to show where the overhead goes), against a naive provider, and cold starts.
import fs from "node:fs";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { Agent, request } from "undici";
import { ProviderHost } from "../harness/host";
import { loadProtos } from "../harness/protos";
import type { PropertyMap } from "../harness/props";
import { configure, dynamicProvider, dynamiqClient } from "../provider";
import { frontEnd } from "../sdk/frontend";
import { NaiveConnectionProvider } from "./naive";
import { thinnestConnectionProvider } from "./thinnest";
import {
  RESULTS_DIR,
  SCALE_PROGRAM,
  childPids,
  counters,
  cpuMsOf,
  median,
  now,
  pool,
  resetCounters,
  round,
  spawnEmulator,
} from "./util";

const URN = (name: string) => `urn:pulumi:bench::bench::pulumi-nodejs:dynamic:Resource::${name}`;
const TYPE = "dynamiq.connections.OpenAI";

export async function serializeProvider(obj: object): Promise<string> {
  return (await pulumi.runtime.serializeFunction(() => obj, { allowSecrets: true })).text;
}

export async function startHost(
  opts: { env?: NodeJS.ProcessEnv; onLine?: (l: string) => void } = {},
): Promise<ProviderHost & { pid?: number }> {
  const protos = loadProtos(SCALE_PROGRAM);
  const before = new Set(childPids("dynamic-provider"));
  const host: ProviderHost & { pid?: number } = await ProviderHost.start({
    protos,
    programDir: SCALE_PROGRAM,
    // The host only needs an address argument; nothing here calls back into an engine.
    engineAddress: "127.0.0.1:1",
    env: { ...process.env, ...opts.env },
    onLine: opts.onLine ?? (() => undefined),
  });
  host.pid = childPids("dynamic-provider").find((p) => !before.has(p));
  return host;
}

/** The variants measured side by side. Each does `create(i)` then `read(i)` on its own connections. */
interface Variant {
  name: string;
  /** Work done before the timed part (the naive program's serialisations). */
  prepare?(n: number): Promise<void>;
  create(i: number): Promise<void>;
  read(i: number): Promise<void>;
}

export interface OverheadOptions {
  latencyMs: number;
  n: number;
  concurrency: number;
  rounds: number;
  /** Also run the naive provider through the host. */
  naive: boolean;
  /** Write a CPU profile of the host process (bench/results/profiles). */
  profile?: boolean;
}

export interface PhaseFigures {
  wallMs: number;
  perOpMs: number;
  p50Ms: number;
}
export type OverheadResult = {
  latencyMs: number;
  n: number;
  concurrency: number;
  rounds: number;
  variants: Record<
    string,
    {
      create: PhaseFigures;
      read: PhaseFigures;
      /** TCP connections the emulator accepted during the measured creates and reads (pools were warm). */
      tcpConnections: number;
      apiCalls: number;
      /** CPU per operation (create or read), by process: this one (the client/engine side), host, emulator. */
      cpuMsPerOp: { client: number; host: number; emulator: number };
    }
  >;
  serialiseMsPerProvider?: { ours: number; naive: number };
  profile?: ProfileSummary;
};

export async function overhead(o: OverheadOptions): Promise<OverheadResult> {
  const emu = await spawnEmulator(o.latencyMs);
  const cfg = { "dynamiq:baseUrl": emu.dynamiq.baseUrl, "dynamiq:token": emu.dynamiq.userPat };
  const profileDir = path.join(RESULTS_DIR, "profiles", `host-${o.latencyMs}ms`);
  if (o.profile) {
    fs.rmSync(profileDir, { recursive: true, force: true });
    fs.mkdirSync(profileDir, { recursive: true });
  }
  const hosts: ProviderHost[] = [];
  try {
    const host = await startHost({
      env: o.profile
        ? {
            NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir} --require ${path.join(__dirname, "exit-on-sigterm.js")}`,
          }
        : {},
    });
    hosts.push(host);
    await host.configure(cfg);
    const naiveHost = o.naive ? await startHost() : undefined;
    if (naiveHost) {
      hosts.push(naiveHost);
      await naiveHost.configure(cfg);
    }
    const ours = await serializeProvider(frontEnd("Connection"));
    const thinnest = await serializeProvider(
      thinnestConnectionProvider(emu.dynamiq.baseUrl, emu.dynamiq.userPat),
    );

    // In-process layers, in this process: the client, and the resource definition with its validation.
    configure({ get: (k: string) => (cfg as Record<string, string>)[k] });
    const client = dynamiqClient();
    const def = dynamicProvider("Connection");
    const rawAgent = new Agent({ keepAliveTimeout: 30_000, connections: 64, connect: { timeout: 10_000 } });
    const auth = { authorization: `Bearer ${emu.dynamiq.userPat}` };

    const news = (tag: string, i: number) => ({
      projectId: emu.dynamiq.projectId,
      name: `bench-${tag}-${i}`,
      type: TYPE,
      config: { api_key: `sk-bench-${tag}-${i}`, url: "https://api.openai.com/v1" },
    });

    const hostPid: Record<string, number | undefined> = {
      "provider via host": host.pid,
      "thinnest via host": host.pid,
      "naive via host": naiveHost?.pid,
    };
    const variant = (name: string, round: number): Variant & { ids: string[]; outs: PropertyMap[] } => {
      const tag = `${name}-${o.latencyMs}-${round}`;
      const ids: string[] = [];
      const outs: PropertyMap[] = [];
      const v = { name, ids, outs } as Variant & { ids: string[]; outs: PropertyMap[] };
      switch (name) {
        case "raw undici":
          v.create = async (i) => {
            const n = news(tag, i);
            const res = await request(`${emu.dynamiq.baseUrl}/v1/connections`, {
              method: "POST",
              dispatcher: rawAgent,
              headers: { ...auth, "content-type": "application/json" },
              body: JSON.stringify({ name: n.name, project_id: n.projectId, type: n.type, config: n.config }),
            });
            ids[i] = ((await res.body.json()) as { data: { id: string } }).data.id;
          };
          v.read = async (i) => {
            const res = await request(`${emu.dynamiq.baseUrl}/v1/connections/${ids[i]}`, {
              dispatcher: rawAgent,
              headers: auth,
            });
            await res.body.json();
          };
          break;
        case "client (in-process)":
          v.create = async (i) => {
            const n = news(tag, i);
            ids[i] = (
              await client.createConnection(
                { name: n.name, project_id: n.projectId, type: n.type, config: n.config },
                [n.config.api_key],
              )
            ).id;
          };
          v.read = async (i) => void (await client.getConnection(ids[i]));
          break;
        case "provider (in-process)":
          v.create = async (i) => {
            const checked = await def.check!({}, news(tag, i));
            const r = await def.create(checked.inputs!);
            ids[i] = r.id;
            outs[i] = r.outs as PropertyMap;
          };
          v.read = async (i) => void (await def.read!(ids[i], outs[i]));
          break;
        case "provider via host": {
          v.create = async (i) => {
            const checked = await def.check!({}, news(tag, i));
            const r = await host.create(URN(`${tag}-${i}`), { ...checked.inputs, __provider: ours });
            ids[i] = r.id;
            outs[i] = r.properties;
          };
          v.read = async (i) => void (await host.read(ids[i], URN(`${tag}-${i}`), outs[i], {}));
          break;
        }
        case "thinnest via host": {
          v.create = async (i) => {
            const r = await host.create(URN(`${tag}-${i}`), { ...news(tag, i), __provider: thinnest });
            ids[i] = r.id;
            outs[i] = r.properties;
          };
          v.read = async (i) => void (await host.read(ids[i], URN(`${tag}-${i}`), outs[i], {}));
          break;
        }
        case "naive via host": {
          const providers: string[] = [];
          v.prepare = async (count) => {
            for (let i = 0; i < count; i++)
              providers[i] = await serializeProvider(
                new NaiveConnectionProvider(emu.dynamiq.baseUrl, emu.dynamiq.userPat, news(tag, i).name),
              );
          };
          v.create = async (i) => {
            const n = news(tag, i);
            const r = await naiveHost!.create(URN(`${tag}-${i}`), { ...n, __provider: providers[i] });
            ids[i] = r.id;
            outs[i] = r.properties;
          };
          v.read = async (i) =>
            void (await naiveHost!.read(
              ids[i],
              URN(`${tag}-${i}`),
              { ...outs[i], __provider: providers[i] },
              {},
            ));
          break;
        }
        default:
          throw new Error(name);
      }
      return v;
    };

    const names = [
      "raw undici",
      "client (in-process)",
      "provider (in-process)",
      "thinnest via host",
      "provider via host",
    ];
    if (o.naive) names.push("naive via host");

    // Warm-up: JIT, connection pools, the host's first deserialisation.
    for (const name of names) {
      const v = variant(name, -1);
      await v.prepare?.(32);
      await pool(32, o.concurrency, v.create);
      await pool(32, o.concurrency, v.read);
    }

    const samples: Record<
      string,
      {
        create: number[][];
        read: number[][];
        wall: { create: number[]; read: number[] };
        tcp: number[];
        calls: number[];
        cpu: Array<{ client: number; host: number; emulator: number }>;
      }
    > = {};
    for (let r = 0; r < o.rounds; r++) {
      // Alternate the order each round so no variant always runs on the busiest emulator state.
      const order = r % 2 ? [...names].reverse() : names;
      for (const name of order) {
        const v = variant(name, r);
        const s = (samples[name] ??= {
          create: [],
          read: [],
          wall: { create: [], read: [] },
          tcp: [],
          calls: [],
          cpu: [],
        });
        // The naive program's side (one serialisation per resource) is not part of these timings; see below.
        await v.prepare?.(o.n);
        await resetCounters(emu);
        const hp = hostPid[name];
        const cpu0 = { client: process.cpuUsage(), host: hp ? cpuMsOf(hp) : 0, emulator: cpuMsOf(emu.pid) };
        const c = await pool(o.n, o.concurrency, v.create);
        const rd = await pool(o.n, o.concurrency, v.read);
        const used = process.cpuUsage(cpu0.client);
        s.cpu.push({
          client: (used.user + used.system) / 1000 / (2 * o.n),
          host: hp ? (cpuMsOf(hp) - cpu0.host) / (2 * o.n) : 0,
          emulator: (cpuMsOf(emu.pid) - cpu0.emulator) / (2 * o.n),
        });
        const k = await counters(emu);
        s.create.push(c.latencies);
        s.read.push(rd.latencies);
        s.wall.create.push(c.wallMs);
        s.wall.read.push(rd.wallMs);
        s.tcp.push(k.connections);
        s.calls.push(k.total);
      }
    }

    const result: OverheadResult = {
      latencyMs: o.latencyMs,
      n: o.n,
      concurrency: o.concurrency,
      rounds: o.rounds,
      variants: {},
    };
    for (const name of names) {
      const s = samples[name];
      const fig = (walls: number[], lats: number[][]): PhaseFigures => {
        const wallMs = median(walls);
        return {
          wallMs: round(wallMs),
          perOpMs: round(wallMs / o.n, 3),
          p50Ms: round(median(lats.flat()), 3),
        };
      };
      result.variants[name] = {
        create: fig(s.wall.create, s.create),
        read: fig(s.wall.read, s.read),
        tcpConnections: median(s.tcp),
        apiCalls: median(s.calls),
        cpuMsPerOp: {
          client: round(median(s.cpu.map((x) => x.client)), 3),
          host: round(median(s.cpu.map((x) => x.host)), 3),
          emulator: round(median(s.cpu.map((x) => x.emulator)), 3),
        },
      };
    }
    if (o.naive) {
      // Program-side cost: ours serialises once per class (Pulumi caches per provider object); naive per resource.
      const k = 50;
      let t = now();
      for (let i = 0; i < k; i++) await serializeProvider(frontEnd("Connection"));
      const oursMs = (now() - t) / k;
      t = now();
      for (let i = 0; i < k; i++)
        await serializeProvider(
          new NaiveConnectionProvider(emu.dynamiq.baseUrl, emu.dynamiq.userPat, `x${i}`),
        );
      result.serialiseMsPerProvider = { ours: round(oursMs, 2), naive: round((now() - t) / k, 2) };
    }
    await rawAgent.close();
    for (const h of hosts.splice(0)) await h.stop();
    if (o.profile) result.profile = summariseProfile(profileDir);
    return result;
  } finally {
    for (const h of hosts) await h.stop();
    await emu.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// CPU profile of the host: self time by function and by area.

export interface ProfileSummary {
  file: string;
  totalMs: number;
  areas: Record<string, number>;
  top: Array<{ fn: string; where: string; selfMs: number }>;
}

interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
  }>;
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const AREAS: Array<[string, RegExp]> = [
  ["gRPC (grpc-js)", /@grpc\/grpc-js/],
  ["protobuf (de)serialisation", /google-protobuf|\/proto\//],
  ["HTTP (undici)", /undici/],
  ["validation (zod)", /\/zod\//],
  ["provider (this package)", /\/dist\/(provider|sdk)\//],
  ["Pulumi host + runtime", /@pulumi\/pulumi/],
  ["node internals", /^node:|^internal\//],
  ["idle / GC / native", /^$/],
];

export function summariseProfile(dir: string): ProfileSummary | undefined {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")) : [];
  if (files.length === 0) return undefined;
  const file = path.join(dir, files.sort().at(-1)!);
  const prof = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
  const self = new Map<number, number>();
  for (let i = 0; i < prof.samples.length; i++)
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000);
  const byFn = new Map<string, { fn: string; where: string; selfMs: number }>();
  const areas: Record<string, number> = {};
  let totalMs = 0;
  for (const node of prof.nodes) {
    const ms = self.get(node.id) ?? 0;
    if (ms === 0) continue;
    totalMs += ms;
    const { functionName, url, lineNumber } = node.callFrame;
    const isIdle =
      functionName === "(idle)" || functionName === "(program)" || functionName === "(garbage collector)";
    const area = isIdle
      ? functionName === "(idle)"
        ? "idle"
        : functionName
      : (AREAS.find(([, re]) => re.test(url))?.[0] ?? "other");
    areas[area] = round((areas[area] ?? 0) + ms, 1);
    const where = url
      ? `${url.replace(/^.*node_modules\//, "").replace(/^.*\/dist\//, "dist/")}:${lineNumber + 1}`
      : "";
    const key = `${functionName}@${where}`;
    const e = byFn.get(key) ?? { fn: functionName || "(anonymous)", where, selfMs: 0 };
    e.selfMs += ms;
    byFn.set(key, e);
  }
  const top = [...byFn.values()]
    .filter((e) => !["(idle)", "(program)"].includes(e.fn))
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, 15)
    .map((e) => ({ ...e, selfMs: round(e.selfMs, 1) }));
  return { file: path.relative(process.cwd(), file), totalMs: round(totalMs, 1), areas, top };
}

// ---------------------------------------------------------------------------------------------------------------
// Benchmark 5: cold start.

export interface ColdStartResult {
  samples: number;
  spawnToPortMs: number;
  configureMs: number;
  firstCreateMs: number;
  secondCreateMs: number;
  firstReadInFreshHostMs: number;
}

export async function coldStart(samples: number): Promise<ColdStartResult> {
  const emu = await spawnEmulator(0);
  const cfg = { "dynamiq:baseUrl": emu.dynamiq.baseUrl, "dynamiq:token": emu.dynamiq.userPat };
  const ours = await serializeProvider(frontEnd("Connection"));
  const rows: Array<Omit<ColdStartResult, "samples">> = [];
  const inputs = (i: number, tag: string) => ({
    projectId: emu.dynamiq.projectId,
    name: `cold-${tag}-${i}`,
    type: TYPE,
    config: { api_key: `sk-cold-${i}`, url: "https://api.openai.com/v1" },
    __provider: ours,
  });
  try {
    for (let i = 0; i < samples; i++) {
      let t = now();
      const host = await startHost();
      const spawnToPortMs = now() - t;
      t = now();
      await host.configure(cfg);
      const configureMs = now() - t;
      t = now();
      const created = await host.create(URN(`cold-a-${i}`), inputs(i, "a"));
      const firstCreateMs = now() - t;
      t = now();
      await host.create(URN(`cold-b-${i}`), inputs(i, "b"));
      const secondCreateMs = now() - t;
      await host.stop();
      // A refresh in CI starts with a Read in a fresh host.
      const fresh = await startHost();
      await fresh.configure(cfg);
      t = now();
      await fresh.read(created.id, URN(`cold-a-${i}`), created.properties, {});
      const firstReadInFreshHostMs = now() - t;
      await fresh.stop();
      rows.push({ spawnToPortMs, configureMs, firstCreateMs, secondCreateMs, firstReadInFreshHostMs });
    }
  } finally {
    await emu.close();
  }
  const med = (k: keyof Omit<ColdStartResult, "samples">) => round(median(rows.map((r) => r[k])), 1);
  return {
    samples,
    spawnToPortMs: med("spawnToPortMs"),
    configureMs: med("configureMs"),
    firstCreateMs: med("firstCreateMs"),
    secondCreateMs: med("secondCreateMs"),
    firstReadInFreshHostMs: med("firstReadInFreshHostMs"),
  };
}

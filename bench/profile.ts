// CPU profiles (`node --cpu-prof`) of the Node.js processes of one `pulumi` command: self time by area and the
// top functions, for the program process and the dynamic-provider host.
import fs from "node:fs";
import path from "node:path";
import type { ProcReport } from "./proc-report";
import { round } from "./util";

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
  }>;
  samples: number[];
  timeDeltas: number[];
}

// Matched against "<function name> <url>", first match wins.
const AREAS: Array<[string, RegExp]> = [
  [
    "loading modules",
    /^(wrapSafe|compileForInternalLoader|readFileUtf8|realpathSync|internalModuleStat) |modules\/cjs\/loader|package_json_reader/,
  ],
  ["gRPC (grpc-js)", /@grpc\/grpc-js/],
  ["protobuf (de)serialisation", /google-protobuf|\/proto\//],
  ["HTTP (undici)", /undici/],
  ["validation (zod)", /\/zod\//],
  ["TypeScript / ts-node", /typescript|ts-node/],
  ["source maps", /source-map/],
  ["provider (this package)", /\/dist\/(provider|sdk)\/|\/(provider|sdk)\/[^/]+\.ts/],
  ["Pulumi runtime / host", /@pulumi\/pulumi/],
  ["node internals", /^node:|^internal\//],
];

/** NODE_OPTIONS that make every Node.js process of a run write a CPU profile into `dir`. */
export const profileOptions = (dir: string) => `--cpu-prof --cpu-prof-dir=${dir}`;

/** Summaries of the profiles in `dir` of the processes with the given roles (`pids`: role by pid). */
export function summariseProfiles(
  dir: string,
  pids: Record<number, ProcReport["role"]>,
): Partial<Record<ProcReport["role"], ProfileSummary>> {
  const out: Partial<Record<ProcReport["role"], ProfileSummary>> = {};
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    // CPU.<date>.<time>.<pid>.<thread>.<sequence>.cpuprofile
    const pid = Number(f.split(".")[3]);
    const role = pids[pid];
    if (role && role !== "other" && f.endsWith(".cpuprofile")) out[role] = summarise(path.join(dir, f));
  }
  return out;
}

function summarise(file: string): ProfileSummary {
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
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") continue;
    totalMs += ms;
    const area = functionName.startsWith("(")
      ? functionName
      : (AREAS.find(([, re]) => re.test(`${functionName} ${url}`))?.[0] ?? "other");
    areas[area] = round((areas[area] ?? 0) + ms, 1);
    const where = url
      ? `${url.replace(/^.*node_modules\//, "").replace(/^.*\/(dist|work\/main)\//, "")}:${lineNumber + 1}`
      : "";
    const key = `${functionName}@${where}`;
    const e = byFn.get(key) ?? { fn: functionName || "(anonymous)", where, selfMs: 0 };
    e.selfMs += ms;
    byFn.set(key, e);
  }
  const top = [...byFn.values()]
    .filter((e) => e.fn !== "(program)")
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, 12)
    .map((e) => ({ ...e, selfMs: round(e.selfMs, 1) }));
  return { file: path.relative(process.cwd(), file), totalMs: round(totalMs, 1), areas, top };
}

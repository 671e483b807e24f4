// `npm run bench`: every benchmark, on the real Pulumi engine (the pinned CLI, engine/), each figure measured side
// by side in one run, printed as tables and written to bench/results/<name>.json. Timings live here, never in
// tests (tests assert counts).
//
//   node dist/bench/run.js [--quick] [--only overhead,naive,scale] [--rounds 3] [--sizes 100,300,1000]
//                          [--scale-rounds 3] [--checkpoint-sizes 100,300] [--profile] [--out <name>]
import os from "node:os";
import { ensureCli } from "../engine/cli";
import { netMsPerResource, overhead, type OverheadResult, type Variant } from "./overhead";
import { PHASES, scale, type Phase, type ScaleRun } from "./scale";
import { mb, round, table, writeResults, type Figures } from "./util";

const GOALS = {
  /** Ours / the thinnest dynamic provider, at every concurrency and size. */
  oursVsThinnest: 1.05,
  /** Time per added resource from 300 to 1,000 / from 100 to 300: "flat" allows this much. */
  flatMarginal: 1.25,
  providerBytes: 8 * 1024,
  stateBytes: 12 * 1024,
  coldStartMs: 200,
};

function args() {
  const a = process.argv.slice(2);
  const value = (f: string) => {
    const i = a.indexOf(f);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const numbers = (f: string, dflt: string) => (value(f) ?? dflt).split(",").filter(Boolean).map(Number);
  const quick = a.includes("--quick");
  return {
    quick,
    only: new Set((value("--only") ?? "overhead,naive,scale").split(",")),
    sizes: numbers("--sizes", quick ? "30,100" : "100,300,1000"),
    checkpointSizes: numbers("--checkpoint-sizes", quick ? "30" : "100,300"),
    rounds: Number(value("--rounds") ?? (quick ? 1 : 3)),
    scaleRounds: Number(value("--scale-rounds") ?? (quick ? 1 : 3)),
    profile: a.includes("--profile"),
    out: value("--out") ?? (quick ? "bench-quick" : "bench"),
  };
}

const s = (ms: number | undefined) => (ms === undefined ? "n/a" : round(ms / 1000, 2));
const x = (ratio: number | undefined) =>
  ratio === undefined || !Number.isFinite(ratio) ? "n/a" : `${round(ratio, 2)}x`;
const pair = (a: string | number, b: string | number) => `${a} / ${b}`;
type Summary = Array<[string, string, string, string]>;
const status = (ok: boolean) => (ok ? "met" : "MISSED");

function overheadTables(r: OverheadResult, summary: Summary) {
  const rows = Object.entries(r.fixed).map(([p, f]) => [
    p,
    s(f.create.wallMs),
    s(f.read.wallMs),
    pair(s(f.create.cpuMs.engine), s(f.read.cpuMs.engine)),
    pair(s(f.create.cpuMs.program), s(f.read.cpuMs.program)),
    pair(s(f.create.cpuMs.host), s(f.read.cpuMs.host)),
  ]);
  table(
    `Fixed cost per command: up and refresh of a stack of ONE connection (median of ${r.rounds}; CPU s up / refresh)`,
    ["provider", "up s", "refresh s", "engine CPU", "program CPU", "host CPU"],
    rows,
  );

  for (const level of r.levels) {
    const t = level.variants.thinnest;
    const raw = level.variants["raw undici"];
    const net = (v: Variant, ph: "create" | "read") => netMsPerResource(r, level, v, ph) ?? NaN;
    const rows = (Object.entries(level.variants) as Array<[Variant, { create: Figures; read: Figures }]>).map(
      ([v, f]) => {
        const vsThin = (ph: "create" | "read") => t && f[ph].wallMs / t[ph].wallMs;
        const netVs = (base: Variant, ph: "create" | "read") => net(v, ph) / net(base, ph);
        // Raw undici's requests have no fixed cost: a gross or net ratio to an engine run says nothing.
        const engine = v !== "raw undici";
        return [
          v,
          s(f.create.wallMs),
          s(f.read.wallMs),
          pair(round(net(v, "create"), 2), round(net(v, "read"), 2)),
          pair(x(netVs("raw undici", "create")), x(netVs("raw undici", "read"))),
          engine ? pair(x(vsThin("create")), x(vsThin("read"))) : "",
          engine ? pair(x(netVs("thinnest", "create")), x(netVs("thinnest", "read"))) : "",
          pair(f.create.apiCalls, f.read.apiCalls),
          pair(f.create.tcpConnections, f.read.tcpConnections),
        ];
      },
    );
    table(
      `Overhead: ${level.n} connections created (pulumi up; raw: POST) and read (pulumi refresh; raw: GET), ` +
        `--parallel ${level.concurrency} (raw: ${level.concurrency} in flight), emulator +${r.latencyMs} ms/request, ` +
        `median of ${r.rounds} rounds. net = (run - the same command on 1 resource) / (N - 1)`,
      [
        "variant",
        "up s",
        "refresh s",
        "net ms/resource c/r",
        "net vs raw c/r",
        "vs thinnest gross c/r",
        "vs thinnest net c/r",
        "API calls c/r",
        "TCP c/r",
      ],
      rows,
    );
    // Where the time goes: CPU per resource by process, net of the one-resource run, and the API's latency.
    const where: Array<Array<string | number>> = [];
    for (const [v, f] of Object.entries(level.variants) as Array<
      [Variant, { create: Figures; read: Figures }]
    >) {
      for (const ph of ["create", "read"] as const) {
        const fixed = v === "raw undici" ? undefined : r.fixed[v]?.[ph];
        const per = (k: string) => {
          const total = f[ph].cpuMs[k];
          if (total === undefined) return "";
          return round(fixed ? (total - (fixed.cpuMs[k] ?? 0)) / (level.n - 1) : total / level.n, 2);
        };
        where.push([
          v,
          ph === "create" ? "up" : "refresh",
          round(net(v, ph), 2),
          per("engine"),
          per("program"),
          per("host"),
          per("client"),
          per("emulator"),
          round((r.latencyMs * f[ph].apiCalls) / level.concurrency / level.n, 2),
        ]);
      }
    }
    table(
      `Where the time goes at --parallel ${level.concurrency}: ms per resource, net of the one-resource run`,
      [
        "variant",
        "command",
        "wall",
        "engine CPU",
        "program CPU",
        "host CPU",
        "client CPU",
        "emulator CPU",
        "API wait",
      ],
      where,
    );
    const o = level.variants.ours;
    if (o && t) {
      const gross = [o.create.wallMs / t.create.wallMs, o.read.wallMs / t.read.wallMs];
      const nets = (["create", "read"] as const).map((ph) => net("ours", ph) / net("thinnest", ph));
      summary.push([
        `1. ours vs thinnest, --parallel ${level.concurrency}, up / refresh`,
        `gross ${x(gross[0])} / ${x(gross[1])}; net ${x(nets[0])} / ${x(nets[1])}`,
        `<= ${GOALS.oursVsThinnest}x (gross and net)`,
        status(Math.max(...gross, ...nets) <= GOALS.oursVsThinnest),
      ]);
    }
    // What each provider costs per resource over the same request made directly: a ratio and an absolute figure.
    const overRaw = (v: Variant) =>
      (["create", "read"] as const)
        .map((ph) => {
          const [a, b] = [net(v, ph), net("raw undici", ph)];
          return `${x(a / b)} (+${round(a - b, 1)} ms)`;
        })
        .join(" / ");
    if (t && raw)
      summary.push([
        `1. net per resource vs raw undici, --parallel ${level.concurrency}, up / refresh`,
        `thinnest ${overRaw("thinnest")}; ours ${overRaw("ours")}`,
        "report",
        "-",
      ]);
    const n = level.variants.naive;
    if (n && o)
      summary.push([
        `2. naive vs ours, --parallel ${level.concurrency}, up / refresh`,
        `${x(n.create.wallMs / o.create.wallMs)} / ${x(n.read.wallMs / o.read.wallMs)} the time; ` +
          `TCP ${pair(n.create.tcpConnections, n.read.tcpConnections)} vs ${pair(o.create.tcpConnections, o.read.tcpConnections)}; ` +
          `program CPU ${s(n.create.cpuMs.program)} vs ${s(o.create.cpuMs.program)} s; ` +
          `host CPU ${pair(s(n.create.cpuMs.host), s(n.read.cpuMs.host))} vs ${pair(s(o.create.cpuMs.host), s(o.read.cpuMs.host))} s`,
        "report",
        "-",
      ]);
  }

  const cold = Object.entries(r.coldStart).map(([p, c]) => [
    p,
    c.hostStartMs ?? "n/a",
    c.firstCheckMs ?? "n/a",
    c.firstCreateMs ?? "n/a",
    c.firstReadMs ?? "n/a",
  ]);
  table(
    `Cold start, from the engine's log (ms, median of ${r.rounds}; Create and Read include the emulator's ${r.latencyMs} ms)`,
    ["provider", "host launch to handshake", "first Check (up)", "first Create", "first Read (refresh)"],
    cold,
  );
  const oc = r.coldStart.ours;
  if (oc) {
    const first = Math.max(oc.firstCheckMs ?? NaN, oc.firstReadMs ?? NaN);
    summary.push([
      "5. cold start: first call in a fresh host (Check of an up / Read of a refresh)",
      `${oc.firstCheckMs} / ${oc.firstReadMs} ms (host launch ${oc.hostStartMs} ms)`,
      `< ${GOALS.coldStartMs} ms`,
      status(first < GOALS.coldStartMs),
    ]);
  }
}

function scaleTables(runs: ScaleRun[], rounds: number, summary: Summary) {
  const sizes = [...new Set(runs.map((r) => r.n))];
  const providers = [...new Set(runs.map((r) => r.provider))];
  const find = (n: number, p: string) => runs.find((r) => r.n === n && r.provider === p);
  const rows: Array<Array<string | number>> = [];
  for (const r of runs)
    for (const ph of PHASES) {
      const f = r.phases[ph];
      rows.push([
        r.n,
        r.provider,
        ph,
        s(f.wallMs),
        round(f.wallMs / r.n, 2),
        f.apiCalls,
        s(f.cpuMs.engine),
        s(f.cpuMs.program),
        s(f.cpuMs.host),
        s(f.cpuMs.emulator),
        mb(f.hostPeakRssBytes),
      ]);
    }
  table(
    `Scale: N connections, --parallel 16, emulator with no added latency, state saved once per command (median of ${rounds})`,
    [
      "N",
      "provider",
      "command",
      "wall s",
      "ms/resource",
      "API calls",
      "engine CPU s",
      "program CPU s",
      "host CPU s",
      "emulator CPU s",
      "host peak MiB",
    ],
    rows,
  );

  const vs = sizes.map((n) => {
    const o = find(n, "ours");
    const t = find(n, "thinnest");
    return [n, ...PHASES.map((ph) => (o && t ? x(o.phases[ph].wallMs / t.phases[ph].wallMs) : "n/a"))];
  });
  table("Scale: ours / thinnest, wall time", ["N", ...PHASES], vs);
  const worstAt = sizes.map((n) => {
    const o = find(n, "ours");
    const t = find(n, "thinnest");
    return o && t ? Math.max(...PHASES.map((ph) => o.phases[ph].wallMs / t.phases[ph].wallMs)) : NaN;
  });
  if (worstAt.some(Number.isFinite))
    summary.push([
      `3. scale: ours vs thinnest, the slowest command at ${sizes.join(" / ")} resources`,
      worstAt.map((w) => x(w)).join(" / "),
      `<= ${GOALS.oursVsThinnest}x`,
      status(Math.max(...worstAt) <= GOALS.oursVsThinnest),
    ]);

  // Fixed costs (program start, host start) hide the slope: the time per ADDED resource between consecutive sizes
  // is what shows linear growth (constant) or worse (rising).
  const marginal = (p: string, ph: Phase) =>
    sizes.slice(1).map((n, i) => {
      const [a, b] = [find(sizes[i], p), find(n, p)];
      return a && b ? (b.phases[ph].wallMs - a.phases[ph].wallMs) / (n - sizes[i]) : NaN;
    });
  const steps = sizes.slice(1).map((n, i) => `${sizes[i]} -> ${n}`);
  const marginalRows = providers.flatMap((p) =>
    PHASES.map((ph) => {
      const m = marginal(p, ph);
      return [p, ph, ...m.map((v) => round(v, 2)), m.length > 1 ? x(m[m.length - 1] / m[0]) : "n/a"];
    }),
  );
  table(
    "Scale: wall time per added resource (ms)",
    ["provider", "command", ...steps, `last / first`],
    marginalRows,
  );
  for (const p of providers) {
    const growth = PHASES.map((ph) => marginal(p, ph)).map((m) => m[m.length - 1] / m[0]);
    if (sizes.length > 2)
      summary.push([
        `3. ${p}: time per added resource, ${steps[steps.length - 1]} vs ${steps[0]} (${PHASES.join(" / ")})`,
        growth.map((g) => x(g)).join(" / "),
        `flat (<= ${GOALS.flatMarginal}x)`,
        status(Math.max(...growth) <= GOALS.flatMarginal),
      ]);
  }

  table(
    "Scale: size per resource (pulumi stack export after the up)",
    ["N", "provider", "__provider bytes", "state bytes", "host peak MiB up / refresh"],
    runs.map((r) => [
      r.n,
      r.provider,
      r.providerBytesPerResource,
      r.stateBytesPerResource,
      pair(mb(r.phases.up.hostPeakRssBytes), mb(r.phases.refresh.hostPeakRssBytes)),
    ]),
  );
  const largest = Math.max(...sizes);
  const ours = find(largest, "ours");
  if (ours) {
    summary.push([
      `3. API calls at ${largest} resources: ${PHASES.join(" / ")}`,
      PHASES.map((ph) => ours.phases[ph].apiCalls).join(" / "),
      "1 per resource (no-op: 0)",
      status(
        ours.phases.up.apiCalls === largest &&
          ours.phases["no-op up"].apiCalls === 0 &&
          ours.phases.refresh.apiCalls === largest &&
          ours.phases.destroy.apiCalls === largest,
      ),
    ]);
    const smallest = find(Math.min(...sizes), "ours");
    summary.push([
      `3. host peak memory, ${Math.min(...sizes)} -> ${largest} resources (up / refresh)`,
      `${mb(smallest?.phases.up.hostPeakRssBytes)} -> ${mb(ours.phases.up.hostPeakRssBytes)} MiB / ` +
        `${mb(smallest?.phases.refresh.hostPeakRssBytes)} -> ${mb(ours.phases.refresh.hostPeakRssBytes)} MiB`,
      "report",
      "-",
    ]);
    summary.push([
      "4. __provider per resource",
      `${ours.providerBytesPerResource} B`,
      `< ${GOALS.providerBytes} B`,
      status(ours.providerBytesPerResource < GOALS.providerBytes),
    ]);
    summary.push([
      "4. state per resource",
      `${ours.stateBytesPerResource} B`,
      `< ${GOALS.stateBytes} B`,
      status(ours.stateBytesPerResource < GOALS.stateBytes),
    ]);
  }

  const checkpointed = runs.filter((r) => r.checkpointed);
  if (checkpointed.length) {
    table(
      "File backend's default: the whole state written after every step (up / destroy of the same stacks)",
      ["N", "provider", "up s", "destroy s", "engine CPU s up / destroy", "vs saved once: up / destroy"],
      checkpointed.map((r) => [
        r.n,
        r.provider,
        s(r.checkpointed!.up.wallMs),
        s(r.checkpointed!.destroy.wallMs),
        pair(s(r.checkpointed!.up.cpuMs.engine), s(r.checkpointed!.destroy.cpuMs.engine)),
        pair(
          x(r.checkpointed!.up.wallMs / r.phases.up.wallMs),
          x(r.checkpointed!.destroy.wallMs / r.phases.destroy.wallMs),
        ),
      ]),
    );
    const ns = [...new Set(checkpointed.map((r) => r.n))];
    for (const p of providers) {
      const [a, b] = [
        checkpointed.find((r) => r.n === ns[0] && r.provider === p),
        checkpointed.find((r) => r.n === ns[ns.length - 1] && r.provider === p),
      ];
      if (a && b && a !== b)
        summary.push([
          `3. ${p}, checkpoint after every step: ${a.n} -> ${b.n} resources (${round(b.n / a.n, 1)}x)`,
          `up ${x(b.checkpointed!.up.wallMs / a.checkpointed!.up.wallMs)}, destroy ${x(b.checkpointed!.destroy.wallMs / a.checkpointed!.destroy.wallMs)} the time`,
          "report (the engine's)",
          "-",
        ]);
    }
  }

  for (const r of runs.filter((r) => r.profiles))
    for (const [phase, byRole] of Object.entries(r.profiles!))
      for (const [role, prof] of Object.entries(byRole ?? {})) {
        table(
          `CPU profile of the ${role} process, ${phase} of ${r.n} (${r.provider}): self time by area, ms (${prof.file})`,
          ["area", "ms"],
          Object.entries(prof.areas).sort((a, b) => b[1] - a[1]),
        );
        table(
          `... top functions by self time`,
          ["function", "where", "ms"],
          prof.top.map((t) => [t.fn, t.where, t.selfMs]),
        );
      }
}

async function main() {
  const o = args();
  const started = performance.now();
  const cli = ensureCli();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const results: Record<string, unknown> = {
    when: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      memGiB: round(os.totalmem() / 2 ** 30, 1),
      node: process.version,
      pulumi: cli.version,
      loadAverageAtStart: os.loadavg().map((l) => round(l, 2)),
    },
    goals: GOALS,
  };
  const summary: Summary = [];

  if (o.only.has("overhead") || o.only.has("naive")) {
    const r = await overhead({
      latencyMs: 20,
      levels: o.quick
        ? [
            { concurrency: 16, n: 48 },
            { concurrency: 4, n: 24 },
            { concurrency: 1, n: 12 },
          ]
        : [
            { concurrency: 16, n: 400 },
            { concurrency: 4, n: 200 },
            { concurrency: 1, n: 100 },
          ],
      rounds: o.rounds,
      naive: o.only.has("naive"),
      log,
    });
    overheadTables(r, summary);
    results.overhead = r;
  }

  if (o.only.has("scale")) {
    const runs = await scale({
      sizes: o.sizes,
      rounds: o.scaleRounds,
      checkpointSizes: o.checkpointSizes,
      providers: ["thinnest", "ours"],
      profile: o.profile,
      log,
    });
    scaleTables(runs, o.scaleRounds, summary);
    results.scale = runs;
  }

  results.summary = summary.map(([figure, value, goal, st]) => ({ figure, value, goal, status: st }));
  results.loadAverageAtEnd = os.loadavg().map((l) => round(l, 2));
  results.totalSeconds = round((performance.now() - started) / 1000, 1);
  table("Summary", ["figure", "measured", "goal", ""], summary, 3);
  const file = writeResults(o.out, results);
  console.log(
    `\nresults: ${file} (${results.totalSeconds} s; load average at start ${(results.machine as { loadAverageAtStart: number[] }).loadAverageAtStart.join(", ")}, at end ${(results.loadAverageAtEnd as number[]).join(", ")})`,
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);

// Benchmarks 3 and 4: up, refresh and destroy of N mixed resources (connections, access keys, tokens) through
// the engine harness (real runtime, real host), with wall time, API calls, TCP connections, the host's peak
// memory, and the size of `__provider` and of state per resource.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmulator } from "../emulator/server";
import { run, type Verb } from "../harness/engine";
import { decryptedResources } from "../harness/state";
import { HostMemoryWatch, SCALE_PROGRAM, counters, resetCounters, round } from "./util";

export interface PhaseResult {
  wallMs: number;
  msPerResource: number;
  apiCalls: number;
  tcpConnections: number;
  hostPeakRssBytes?: number;
}

export interface ScaleResult {
  n: number;
  phases: Record<"up" | "refresh" | "destroy", PhaseResult>;
  providerBytesPerResource: number;
  stateBytesPerResource: number;
}

export async function scale(n: number, watch: HostMemoryWatch): Promise<ScaleResult> {
  const emu = await startEmulator({ port: 0, log: () => undefined });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dynamiq-bench-"));
  const statePath = path.join(dir, "stack.state.json");
  const config = {
    count: String(n),
    driftEvery: "4",
    orgId: emu.dynamiq.orgId,
    projectId: emu.dynamiq.projectId,
    "dynamiq:baseUrl": emu.dynamiq.baseUrl,
  };
  const secrets = { "dynamiq:token": emu.dynamiq.userPat };
  const phases = {} as ScaleResult["phases"];
  let sizes = { providerBytesPerResource: NaN, stateBytesPerResource: NaN };
  try {
    for (const verb of ["up", "refresh", "destroy"] as Verb[]) {
      await resetCounters(emu);
      watch.take();
      const t = performance.now();
      const r = await run({ verb, programDir: SCALE_PROGRAM, statePath, config, secrets, parallel: 16 });
      const wallMs = performance.now() - t;
      if (r.exitCode !== 0) throw new Error(`${verb} of ${n} resources failed:\n${r.errors.join("\n")}`);
      const k = await counters(emu);
      phases[verb as keyof ScaleResult["phases"]] = {
        wallMs: round(wallMs, 0),
        msPerResource: round(wallMs / n, 2),
        apiCalls: k.total,
        tcpConnections: k.connections,
        hostPeakRssBytes: watch.take(),
      };
      if (verb === "up") {
        const resources = decryptedResources(statePath).filter((x) =>
          x.type.startsWith("pulumi-nodejs:dynamic/"),
        );
        const providerBytes = resources.reduce(
          (acc, x) => acc + Buffer.byteLength(String((x.inputs as Record<string, unknown>).__provider ?? "")),
          0,
        );
        sizes = {
          providerBytesPerResource: round(providerBytes / resources.length, 0),
          stateBytesPerResource: round(fs.statSync(statePath).size / resources.length, 0),
        };
      }
    }
  } finally {
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { n, phases, ...sizes };
}

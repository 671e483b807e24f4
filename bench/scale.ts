// Benchmarks 3 and 4 on the real Pulumi engine: `pulumi up`, a no-op `up`, `refresh` and `destroy` of N
// connections (`--parallel 16`, the emulator in its own process with no added latency), with our provider and with
// the thinnest one, one after the other at each size, in an order that alternates between sizes and rounds. Each
// command is timed and its CPU time accounted by process (engine, program, host, emulator), with the API calls,
// the host's peak memory and, from `pulumi stack export` after the up, the size of `__provider` and of state per
// resource. These runs save the state once, at the end (SKIP_CHECKPOINTS); in the first round, at the smaller
// sizes, the same stack then runs `up` and `destroy` again with the file backend's default, a checkpoint after
// every step, to show what that costs.
import fs from "node:fs";
import path from "node:path";
import { profileOptions, summariseProfiles, type ProfileSummary } from "./profile";
import type { ProcReport } from "./proc-report";
import {
  SKIP_CHECKPOINTS,
  connectionStack,
  runMeasured,
  type Provider,
  type RunOptions,
  type Verb,
} from "./stack";
import { RESULTS_DIR, inOrder, medianSample, round, spawnEmulator, type Figures, type Sample } from "./util";

export const PHASES = ["up", "no-op up", "refresh", "destroy"] as const;
export type Phase = (typeof PHASES)[number];

export interface ScaleOptions {
  sizes: number[];
  rounds: number;
  /** Sizes at which `up` and `destroy` also run (first round only) with a checkpoint after every step. */
  checkpointSizes: number[];
  providers: Provider[];
  /** CPU-profile the program and the host during the up and the refresh at the largest size (first round). */
  profile?: boolean;
  log?: (line: string) => void;
}

type Profiles = Partial<Record<Phase, Partial<Record<ProcReport["role"], ProfileSummary>>>>;

export interface ScaleRun {
  n: number;
  provider: Provider;
  /** Medians over the rounds. */
  phases: Record<Phase, Figures>;
  /** With the file backend's default checkpointing. */
  checkpointed?: { up: Figures; destroy: Figures };
  providerBytesPerResource: number;
  stateBytesPerResource: number;
  profiles?: Profiles;
}

export async function scale(o: ScaleOptions): Promise<ScaleRun[]> {
  const log = o.log ?? (() => undefined);
  const emu = await spawnEmulator(0);
  const runs = new Map<string, ScaleRun & { samples: Record<Phase, Sample[]> }>();
  const largest = Math.max(...o.sizes);
  try {
    // A warm-up of one resource (not measured), then the rounds.
    const plan = [
      { n: 1, round: -1 },
      ...Array.from({ length: o.rounds }, (_, r) => o.sizes.map((n) => ({ n, round: r }))).flat(),
    ];
    for (const [i, { n, round: r }] of plan.entries()) {
      for (const provider of inOrder(o.providers, i)) {
        const t = performance.now();
        const stack = await connectionStack(emu, provider, n);
        try {
          const profileDir =
            o.profile && r === 0 && n === largest
              ? path.join(RESULTS_DIR, "profiles", `scale-${n}-${provider}`)
              : undefined;
          const profiles: Profiles = {};
          const run = async (phase: Phase, verb: Verb, extra: Partial<RunOptions> = {}) => {
            const env: Record<string, string> = { ...SKIP_CHECKPOINTS };
            const dir = profileDir && (phase === "up" || phase === "refresh") && path.join(profileDir, phase);
            if (dir) {
              fs.rmSync(dir, { recursive: true, force: true });
              env.NODE_OPTIONS = profileOptions(dir);
            }
            const s = await runMeasured(stack, emu, verb, { parallel: 16, env, ...extra });
            if (dir) profiles[phase] = summariseProfiles(dir, s.result.pids);
            return s;
          };
          const up = await run("up", "up");
          if (r < 0) {
            await run("destroy", "destroy");
            continue;
          }
          const key = `${n} ${provider}`;
          let entry = runs.get(key);
          if (!entry) {
            const { state, bytes } = await stack.exportState();
            const resources = (state.deployment.resources ?? []).filter((x) =>
              x.type.startsWith("pulumi-nodejs:dynamic/"),
            );
            const providerBytes = resources.reduce(
              (a, x) => a + Buffer.byteLength(String(x.inputs?.__provider ?? "")),
              0,
            );
            entry = {
              n,
              provider,
              phases: {} as ScaleRun["phases"],
              samples: { up: [], "no-op up": [], refresh: [], destroy: [] },
              providerBytesPerResource: round(providerBytes / resources.length, 0),
              stateBytesPerResource: round(bytes / resources.length, 0),
            };
            runs.set(key, entry);
          }
          entry.samples.up.push(up);
          entry.samples["no-op up"].push(await run("no-op up", "up", { expectNoChanges: true }));
          entry.samples.refresh.push(await run("refresh", "refresh"));
          entry.samples.destroy.push(await run("destroy", "destroy"));
          if (profileDir) entry.profiles = profiles;
          if (r === 0 && o.checkpointSizes.includes(n)) {
            // The same stack, now empty: the file backend's default, the whole state written after every step.
            const checkpointed = { parallel: 16, env: { PULUMI_SKIP_CHECKPOINTS: "false" } };
            const cUp = await runMeasured(stack, emu, "up", checkpointed);
            const cDestroy = await runMeasured(stack, emu, "destroy", checkpointed);
            entry.checkpointed = { up: medianSample([cUp]), destroy: medianSample([cDestroy]) };
          }
          log(
            `scale round ${r + 1}/${o.rounds}: ${provider}, ${n} resources, ${round((performance.now() - t) / 1000, 1)} s`,
          );
        } finally {
          stack.dispose();
        }
      }
    }
  } finally {
    await emu.close();
  }
  return [...runs.values()]
    .sort((a, b) => a.n - b.n || o.providers.indexOf(a.provider) - o.providers.indexOf(b.provider))
    .map(({ samples, ...run }) => ({
      ...run,
      phases: Object.fromEntries(PHASES.map((ph) => [ph, medianSample(samples[ph])])) as ScaleRun["phases"],
    }));
}

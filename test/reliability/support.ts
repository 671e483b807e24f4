// Shared setup of the reliability suites: clients with a fast, bounded retry policy pointed at an emulator, a
// ResourceContext built from them, fault arming through the admin surface, and orphan counting.
import fs from "node:fs";
import path from "node:path";
import type { Emulator } from "../../emulator/server";
import { dynamiqClient } from "../../provider/clients/dynamiq";
import { dypaiClient } from "../../provider/clients/dypai";
import { flightcontrolClient } from "../../provider/clients/flightcontrol";
import type { ClientOverrides } from "../../provider/http";
import type { ResourceContext } from "../../provider/resource";
import { adminCall } from "../support";

export { adminCall };

export const FAST: ClientOverrides = {
  retry: { maxRetries: 3, baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 1_000, maxElapsedMs: 10_000 },
  timeoutMs: 400,
};

export function contextOf(emu: Emulator, overrides: ClientOverrides = FAST): ResourceContext {
  const d = dynamiqClient(overrides, {
    platform: "dynamiq",
    baseUrl: emu.dynamiq.baseUrl,
    credential: emu.dynamiq.userPat,
  });
  const f = flightcontrolClient(overrides, {
    platform: "flightcontrol",
    baseUrl: emu.flightcontrol.baseUrl,
    credential: emu.flightcontrol.apiKey,
  });
  const y = dypaiClient(overrides, {
    platform: "dypai",
    baseUrl: emu.dypai.baseUrl,
    credential: emu.dypai.token,
  });
  return {
    dynamiq: () => d,
    dynamiqCredential: () => ({ value: emu.dynamiq.userPat, setting: "dynamiq:token" }),
    flightcontrol: () => f,
    dypai: () => y,
    now: () => new Date(),
  };
}

export const arm = (emu: Emulator, fault: Record<string, unknown>) => adminCall(emu, "POST", "faults", fault);
export const disarm = (emu: Emulator) => adminCall(emu, "DELETE", "faults");
export const fired = async (emu: Emulator) =>
  (await adminCall<{ fired: Record<string, number> }>(emu, "GET", "faults")).fired;

export async function records<T = Record<string, unknown>>(emu: Emulator, kind: string): Promise<T[]> {
  return (await adminCall<{ records: T[] }>(emu, "GET", `records?kind=${kind}`)).records;
}

export async function routeCounts(emu: Emulator): Promise<Record<string, number>> {
  return (await adminCall<{ routes: Record<string, number> }>(emu, "GET", "requests")).routes;
}

/** Intents begun and never done in an intent journal directory, by log file (provider/journal.ts). */
export function openIntents(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith(".log"))) {
    const open = new Set<number>();
    for (const line of fs.readFileSync(path.join(dir, f), "utf8").split("\n")) {
      if (!line) continue;
      const rec = JSON.parse(line) as { begin?: number; done?: number };
      if (rec.begin !== undefined) open.add(rec.begin);
      if (rec.done !== undefined) open.delete(rec.done);
    }
    out[f] = open.size;
  }
  return out;
}

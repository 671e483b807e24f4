// Shared setup of the companion-store provider tests: an emulator, clients pointed at it, and a context.
import { startEmulator, type Emulator } from "../../emulator/server";
import { dypaiClient, type DypaiClient } from "../../provider/clients/dypai";
import { flightcontrolClient, type FlightcontrolClient } from "../../provider/clients/flightcontrol";
import type { ResourceContext } from "../../provider/resource";
import { adminCall } from "../support";

export { adminCall };

export async function quietEmulator(): Promise<Emulator> {
  return startEmulator({ port: 0, log: () => undefined });
}

const fastRetry = { retry: { maxRetries: 1, baseDelayMs: 5, maxDelayMs: 10 } };

export function fcClient(emu: Emulator, apiKey = emu.flightcontrol.apiKey): FlightcontrolClient {
  return flightcontrolClient(fastRetry, {
    platform: "flightcontrol",
    baseUrl: emu.flightcontrol.baseUrl,
    credential: apiKey,
  });
}

export function dyClient(emu: Emulator, token = emu.dypai.token): DypaiClient {
  return dypaiClient(fastRetry, { platform: "dypai", baseUrl: emu.dypai.baseUrl, credential: token });
}

export function contextFor(
  emu: Emulator,
  clients: { flightcontrol?: FlightcontrolClient; dypai?: DypaiClient } = {},
): ResourceContext {
  return {
    dynamiq: () => {
      throw new Error("no Dynamiq calls expected");
    },
    dynamiqCredential: () => ({ value: "", setting: "dynamiq:token" }),
    flightcontrol: () => clients.flightcontrol ?? fcClient(emu),
    dypai: () => clients.dypai ?? dyClient(emu),
    now: () => new Date(),
  };
}

export async function requestCounts(emu: Emulator): Promise<Record<string, number>> {
  return (await adminCall<{ routes: Record<string, number> }>(emu, "GET", "requests")).routes;
}

export async function resetCounts(emu: Emulator): Promise<void> {
  await adminCall(emu, "DELETE", "requests");
}

/** Runs `fn` and returns what it threw (fails when it did not throw). */
export async function thrown(fn: () => Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await fn();
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error("expected an error");
}

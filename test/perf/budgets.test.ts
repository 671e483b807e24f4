// API-call budgets as invariants (counts, never times), on one 200-resource stack of mixed types:
// a no-op up or preview makes no call; a create, update or delete makes one call per resource; a refresh makes
// one per resource and two for a connection with secret drift checking; and one host process reuses its HTTP
// connections across resources (TCP connections accepted by the emulator, not one per resource).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import { Stack, emulator, ops, program, requests, resetRequests, type RequestCounts } from "../support";

const N = 200; // 67 connections, 67 access keys, 66 tokens
const CONNECTIONS = Math.ceil(N / 3);
const KEYS = Math.ceil((N - 1) / 3);
const TOKENS = N - CONNECTIONS - KEYS;
const DRIFT_EVERY = 4; // every 4th connection checks secret drift
const DRIFTING = Math.ceil(CONNECTIONS / DRIFT_EVERY);
// `--parallel`: the engine's cap on concurrent resource operations, so the most requests ever in flight at once.
const PARALLEL = 16;

let emu: Emulator;
let stack: Stack;

beforeAll(async () => {
  emu = await emulator();
  stack = new Stack(program("scale"), {
    config: {
      count: String(N),
      driftEvery: String(DRIFT_EVERY),
      orgId: emu.dynamiq.orgId,
      projectId: emu.dynamiq.projectId,
      "dynamiq:baseUrl": emu.baseUrl,
    },
    secrets: { "dynamiq:token": emu.dynamiq.userPat },
  });
});
afterAll(async () => {
  await emu?.close();
});

type Counts = RequestCounts & { connections: number };
const counted = async () => (await requests(emu)) as Counts;

describe(`API-call budgets on ${N} resources`, () => {
  it("up: one create call per resource, over a handful of reused TCP connections", async () => {
    await resetRequests(emu);
    const r = await stack.run("up", { parallel: PARALLEL });
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ create: N });
    const c = await counted();
    expect(c.routes).toEqual({
      "POST /v1/connections": CONNECTIONS,
      "POST /v1/access-keys": KEYS,
      "POST /v1/personal-access-tokens": TOKENS,
    });
    expect(c.total).toBe(N);
    // Keep-alive across resources: the sockets are bounded by the requests in flight at once (plus a few
    // reopened after the server's keep-alive timeout or a race at release), never one per resource.
    expect(c.connections).toBeGreaterThan(0);
    expect(c.connections).toBeLessThanOrEqual(2 * PARALLEL);
  });

  it("a no-op up and a preview make no API call", async () => {
    await resetRequests(emu);
    const up = await stack.run("up", { parallel: PARALLEL });
    expect(up.exitCode, up.log).toBe(0);
    expect(ops(up)).toEqual({ same: N });
    const preview = await stack.run("preview", { parallel: PARALLEL });
    expect(preview.exitCode, preview.log).toBe(0);
    expect(ops(preview)).toEqual({ same: N });
    expect((await counted()).total).toBe(0);
  });

  it("refresh: one read per resource, two for a connection with secret drift checking", async () => {
    await resetRequests(emu);
    const r = await stack.run("refresh", { parallel: PARALLEL });
    expect(r.exitCode, r.log).toBe(0);
    const c = await counted();
    expect(c.routes).toEqual({
      "GET /v1/connections/:id": CONNECTIONS,
      "POST /v1/connections/:id/credentials": DRIFTING,
      "GET /v1/access-keys/:id": KEYS,
      "GET /v1/personal-access-tokens/:id": TOKENS,
    });
    expect(c.total).toBe(N + DRIFTING);
    expect(c.connections).toBeLessThanOrEqual(2 * PARALLEL);
  });

  it("update: one call per changed resource", async () => {
    await resetRequests(emu);
    const r = await stack.run("up", { parallel: PARALLEL, config: { revision: "2" } });
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ update: CONNECTIONS, same: N - CONNECTIONS });
    const c = await counted();
    expect(c.routes).toEqual({ "PUT /v1/connections/:id": CONNECTIONS });
  });

  it("destroy: one delete call per resource", async () => {
    await resetRequests(emu);
    const r = await stack.run("destroy", { parallel: PARALLEL });
    expect(r.exitCode, r.log).toBe(0);
    expect(ops(r)).toEqual({ delete: N });
    const c = await counted();
    expect(c.routes).toEqual({
      "DELETE /v1/connections/:id": CONNECTIONS,
      "DELETE /v1/access-keys/:id": KEYS,
      "DELETE /v1/personal-access-tokens/:id": TOKENS,
    });
    expect(c.connections).toBeLessThanOrEqual(2 * PARALLEL);
  });
});

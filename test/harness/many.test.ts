// Concurrency: independent resources are processed concurrently (registrations are not serialised), and
// --parallel caps the number of concurrent provider calls.

import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";

import { Workspace, fixture, maxOverlap } from "./helpers";

const ws = new Workspace("many");
const programDir = fixture("many");

afterAll(() => ws.cleanup());

describe("engine harness: concurrency", () => {
  it("20 independent resources are created concurrently", async () => {
    const r = await ws.run({ verb: "up", programDir, config: { count: "20", delayMs: "400" } });
    expect(r.exitCode, r.log).toBe(0);
    expect(r.changes.create).toBe(21);
    const j = ws.journal();
    expect(j.filter((e) => e.method === "create" && e.phase === "end")).toHaveLength(20);
    const overlap = maxOverlap(j, "create");
    expect(overlap).toBeGreaterThanOrEqual(8);
    expect(overlap).toBeLessThanOrEqual(16); // the default --parallel
  });

  it("destroy deletes independent resources concurrently", async () => {
    const mark = ws.mark();
    const r = await ws.run({ verb: "destroy", programDir });
    expect(r.exitCode, r.log).toBe(0);
    expect(maxOverlap(ws.since(mark), "delete")).toBeGreaterThanOrEqual(8);
    expect(ws.resources()).toEqual([]);
  });

  it("--parallel caps concurrent provider calls", async () => {
    const mark = ws.mark();
    const statePath = path.join(ws.dir, "capped.json");
    const r = await ws.run({
      verb: "up",
      programDir,
      statePath,
      parallel: 3,
      config: { count: "8", delayMs: "300" },
    });
    expect(r.exitCode, r.log).toBe(0);
    const overlap = maxOverlap(ws.since(mark), "create");
    expect(overlap).toBeLessThanOrEqual(3);
    expect(overlap).toBeGreaterThanOrEqual(2);
  });
});

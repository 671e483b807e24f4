// The CLI: flags, --json output and exit codes (run in-process through main()).

import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";

import { main, parseArgs } from "../../harness/cli";
import { qualifyConfigKey } from "../../harness/engine";
import { readState } from "../../harness/state";
import { Workspace, fixture } from "./helpers";

const ws = new Workspace("cli");
const programDir = fixture("basic");
process.env.HARNESS_FIXTURE_DIR = ws.dir;

afterAll(() => ws.cleanup());

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

describe("engine harness CLI", () => {
  it("parses pulumi-like flags", () => {
    const p = parseArgs([
      "preview",
      "prog",
      "--state=s.json",
      "-s",
      "prod",
      "-c",
      "a=1",
      "--config",
      "aws:region=x=y",
      "--secret",
      "token=t",
      "--refresh",
      "--expect-no-changes",
      "--json",
      "--parallel",
      "4",
    ]);
    expect(p.json).toBe(true);
    expect(p.options).toMatchObject({
      verb: "preview",
      programDir: "prog",
      statePath: "s.json",
      stack: "prod",
      config: { a: "1", "aws:region": "x=y" },
      secrets: { token: "t" },
      refresh: true,
      expectNoChanges: true,
      parallel: 4,
    });
    expect(() => parseArgs(["up", "prog"])).toThrow(/--state/);
    expect(() => parseArgs(["apply", "prog", "--state", "s"])).toThrow(/unknown verb/);
    expect(qualifyConfigKey("token", "proj")).toBe("proj:token");
    expect(qualifyConfigKey("dynamiq:token", "proj")).toBe("dynamiq:token");
  });

  it("usage errors exit 1", async () => {
    const r = await cli("up", programDir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--state <file> is required");
  });

  it("--json prints exactly one JSON object: steps, changes, outputs (secrets masked), errors", async () => {
    const r = await cli(
      "up",
      programDir,
      "--state",
      ws.statePath,
      "--json",
      "-c",
      "value=one",
      "--secret",
      "token=s3cr3t",
    );
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(doc).sort()).toEqual(["changes", "errors", "outputs", "steps"]);
    expect(doc.steps).toEqual([
      { name: "fixture-dev", type: "pulumi:pulumi:Stack", op: "create" },
      { name: "t", type: "pulumi-nodejs:dynamic/fixture:Thing", op: "create" },
    ]);
    expect(doc.changes).toEqual({ create: 2, update: 0, replace: 0, delete: 0, same: 0 });
    expect(doc.outputs).toEqual({ value: "one", token: "[secret]" });
    expect(doc.errors).toEqual([]);
    expect(r.stdout).not.toContain("s3cr3t");
    expect(r.stderr).toContain("Updating (dev):");
    // config given on the command line is persisted (the secret one encrypted)
    const cfg = readState(ws.statePath).config ?? {};
    expect(cfg["fixture:value"]).toBe("one");
    expect(cfg["fixture:token"]).toMatchObject({ secure: expect.any(String) });
  });

  it("--expect-no-changes: 0 without changes, 2 with changes; human output lists the steps", async () => {
    const same = await cli("preview", programDir, "--state", ws.statePath, "--expect-no-changes");
    expect(same.code, same.stdout).toBe(0);
    expect(same.stdout).toContain("Previewing update (dev):");
    expect(same.stdout).toContain("2 unchanged");
    expect(same.stdout).toContain("token: [secret]");

    const changed = await cli(
      "preview",
      programDir,
      "--state",
      ws.statePath,
      "--expect-no-changes",
      "-c",
      "value=two",
    );
    expect(changed.code, changed.stdout).toBe(2);
    expect(changed.stdout).toContain(" ~  update   pulumi-nodejs:dynamic/fixture:Thing  t  [diff: value]");
    expect(changed.stdout).toContain("~ 1 to update");
    // a preview persists nothing
    expect(readState(ws.statePath).config?.["fixture:value"]).toBe("one");
  });

  it("a missing program directory is an error (exit 1)", async () => {
    const r = await cli("up", path.join(ws.dir, "nope"), "--state", ws.statePath, "--json");
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as { errors: string[] }).errors[0]).toMatch(/Pulumi\.yaml/);
  });
});

import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { createInterface } from "node:readline";

import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startEmulator, type DynamiqSeed } from "../../emulator/server";
import { admin, asUser, call, createAccessKey, eventually, startQuiet, type Json } from "./helpers";

const ROOT = join(__dirname, "..", "..");
let dir: string;
let cli: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "emu-state-"));
  cli = transpileEmulator(join(dir, "build"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("--state persistence through startEmulator", () => {
  it("keeps every record and the same seed across a restart", async () => {
    const statePath = join(dir, "nested", "dynamiq.state.json");
    const first = (await startQuiet({ statePath })).emu;
    const key = await createAccessKey(first, { name: "survivor", project_id: first.dynamiq.projectId });
    const conn = await asUser(first, "POST", "/v1/connections", {
      name: "pg",
      project_id: first.dynamiq.projectId,
      type: "dynamiq.connections.PostgreSQL",
      config: { host: "db", password: "pg-secret" },
    });
    const pat = await asUser(first, "POST", "/v1/personal-access-tokens", { name: "second" });
    await admin(first, "POST", `/_admin/services/${first.dynamiq.serviceId}/deploy-delay`, { ms: 60_000 });
    const dep = await asUser(first, "POST", `/v1/services/${first.dynamiq.serviceId}/deploy`, {
      image: "img:1",
      env: [{ name: "S", value: "env-secret", secret: true }],
    });
    expect(dep.body.data.status).toBe("in_progress");
    await admin(first, "POST", `/_admin/services/${first.dynamiq.serviceId}/deploy-delay`, { ms: 0 });
    const seed1 = first.dynamiq;
    await first.close();

    const state = readFileSync(statePath, "utf8");
    expect(state).toContain("bootstrap_pat_plaintext_emulator_fixture");
    expect(state).not.toContain(key.key);
    expect(state).not.toContain(pat.body.data.key);
    expect(readdirSync(dirname(statePath))).toEqual(["dynamiq.state.json"]);

    const second = (await startQuiet({ statePath })).emu;
    try {
      expect({ ...second.dynamiq, baseUrl: "" }).toEqual({ ...seed1, baseUrl: "" });
      expect((await asUser(second, "GET", `/v1/access-keys/${key.id}`)).body.data.name).toBe("survivor");
      const invoke = await call(second, "POST", `/apps/${second.dynamiq.serviceId}/invoke`, {
        token: key.key,
      });
      expect(invoke.status).toBe(200);
      const creds = await asUser(second, "POST", `/v1/connections/${conn.body.data.id}/credentials`);
      expect(creds.body.data.config.password).toBe("pg-secret");
      expect(
        (await call(second, "GET", "/v1/personal-access-tokens", { token: pat.body.data.key })).status,
      ).toBe(200);
      // The deployment that was in progress at shutdown completes after the restart.
      const done = await eventually(
        () =>
          asUser(second, "GET", `/v1/services/${second.dynamiq.serviceId}/deployments/${dep.body.data.id}`),
        (r) => r.body.data.status === "succeeded",
      );
      expect(done.body.data.status).toBe("succeeded");
      const runtime = await admin(second, "GET", `/_admin/services/${second.dynamiq.serviceId}/runtime`);
      expect(runtime.body.env.S).toBe("env-secret");
    } finally {
      await second.close();
    }
  });

  it("refuses a state file that is not an emulator state", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ hello: "world" }));
    await expect(startEmulator({ statePath: bad, log: () => undefined })).rejects.toThrow(/not a version 1/);
    writeFileSync(bad, '{"fixtures": {"secret": "dyn_pat_');
    await expect(startEmulator({ statePath: bad, log: () => undefined })).rejects.toThrow(
      /is not valid JSON$/,
    );
  });
});

/** Transpiles emulator/*.ts to CommonJS in `out` (no type check; the suite's tsc run covers types). */
function transpileEmulator(out: string): string {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith(".ts") ? [join(d, e.name)] : [],
    );
  for (const file of walk(join(ROOT, "emulator"))) {
    const { outputText } = ts.transpileModule(readFileSync(file, "utf8"), {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
      fileName: file,
    });
    const target = join(out, relative(ROOT, file)).replace(/\.ts$/, ".js");
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  return join(out, "emulator", "cli.js");
}

interface Running {
  child: ChildProcess;
  first: Json;
  stdoutLines: string[];
  exited: Promise<number | null>;
}

async function runCli(cli: string, args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  child.stderr!.resume();
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const stdoutLines: string[] = [];
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.on("line", (line) => {
      stdoutLines.push(line);
      if (stdoutLines.length === 1) resolve(line);
    });
    child.on("exit", (code) => reject(new Error(`cli exited early with ${code}`)));
  });
  return { child, first: JSON.parse(first), stdoutLines, exited };
}

describe("the CLI", () => {
  it("prints the seed as its first stdout line, persists with --state, and stops on SIGTERM/SIGINT", async () => {
    const statePath = join(dir, "cli.state.json");

    const one = await runCli(cli, ["--port", "0", "--state", statePath]);
    const seed: DynamiqSeed = one.first.dynamiq;
    expect(Object.keys(one.first)).toEqual(["dynamiq", "flightcontrol", "dypai"]);
    expect(one.first.flightcontrol).toEqual({
      baseUrl: `${seed.baseUrl}/flightcontrol`,
      apiKey: expect.stringMatching(/^fc_[A-Za-z0-9]{40}$/),
      serviceId: expect.stringMatching(/^c[a-z0-9]{24}$/),
    });
    expect(one.first.dypai).toEqual({
      baseUrl: `${seed.baseUrl}/dypai`,
      token: expect.stringMatching(/^dypai_[A-Za-z0-9]{48}$/),
      engineId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(seed.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(seed.userPat).toMatch(/^dyn_pat_[A-Za-z0-9]{64}$/);
    for (const field of ["orgId", "projectId", "serviceId", "otherOrgId", "otherProjectId"] as const) {
      expect(seed[field]).toMatch(/^[0-9a-f-]{36}$/);
    }
    const emu = { ...one.first, baseUrl: seed.baseUrl, dynamiq: seed, close: async () => undefined };
    const key = await createAccessKey(emu, { name: "from-cli" });
    one.child.kill("SIGTERM");
    expect(await one.exited).toBe(0);
    expect(one.stdoutLines).toHaveLength(1);

    const two = await runCli(cli, ["--port=0", "--state", statePath]);
    try {
      const seed2: DynamiqSeed = two.first.dynamiq;
      expect({ ...seed2, baseUrl: "" }).toEqual({ ...seed, baseUrl: "" });
      expect({ ...two.first.flightcontrol, baseUrl: "" }).toEqual({
        ...one.first.flightcontrol,
        baseUrl: "",
      });
      expect({ ...two.first.dypai, baseUrl: "" }).toEqual({ ...one.first.dypai, baseUrl: "" });
      const emu2 = { ...two.first, baseUrl: seed2.baseUrl, dynamiq: seed2, close: async () => undefined };
      const got = await asUser(emu2, "GET", `/v1/access-keys/${key.id}`);
      expect(got.status).toBe(200);
      expect(got.body.data.name).toBe("from-cli");
    } finally {
      two.child.kill("SIGINT");
      expect(await two.exited).toBe(0);
    }
  });

  it("rejects bad arguments with exit code 2", async () => {
    const child = spawn(process.execPath, [cli, "--port", "nope"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(2);
    expect(out).toBe("");
  });
});

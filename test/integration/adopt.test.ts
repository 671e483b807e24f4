// `pulumi-dynamiq adopt` on the real CLI: 20 objects made by hand on the emulator, the program the command
// writes type-checked with the repository's tsc, then run: the first `up` adopts all 20 (0 creates, 0 deletes,
// one PUT per connection, no write for keys, tokens or the deployment), and `preview --expect-no-changes` passes.
// Also: the built bin's argv and output, and lists longer than one page of 500.
import { execFile as execFileCallback } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import { dynamiqClient } from "../../provider/clients/dynamiq";
import type { PlatformSettings } from "../../provider/settings";
import { adopt, listOrganisation, type AdoptOptions } from "../../cli/adopt";
import {
  ROOT,
  Stack,
  admin,
  api,
  auditSecrets,
  closeAndAudit,
  emulator,
  ops,
  requests,
  resetRequests,
} from "../support";

const execFile = promisify(execFileCallback);

let emu: Emulator;
beforeAll(async () => {
  emu = await emulator();
});
// The suite's secret-leak audit (test/support/leaks.ts) runs after the emulator closes: the figure is zero.
afterAll(async () => {
  for (const d of folders) fs.rmSync(d, { recursive: true, force: true });
  await closeAndAudit(emu, "adopt");
});
const folders: string[] = [];

const settings = (e: Emulator): PlatformSettings => ({
  platform: "dynamiq",
  baseUrl: e.baseUrl,
  credential: e.dynamiq.userPat,
});

/** A project folder inside the repository (.tmp/ is ignored), so that `pulumi-dynamiq` resolves as installed. */
function projectFolder(): string {
  const parent = path.join(ROOT, ".tmp");
  fs.mkdirSync(parent, { recursive: true });
  const dir = fs.mkdtempSync(path.join(parent, "adopt-"));
  folders.push(dir);
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: adopted\nruntime: nodejs\n");
  fs.writeFileSync(
    path.join(dir, "tsconfig.json"),
    JSON.stringify(
      {
        compilerOptions: {
          strict: true,
          target: "es2022",
          module: "node16",
          moduleResolution: "node16",
          rootDir: ".",
          skipLibCheck: true,
          noEmit: true,
        },
        files: ["index.ts"],
      },
      null,
      2,
    ),
  );
  return dir;
}

/** Secrets of the objects made by hand: none may appear in the program, the output, state or logs. */
const HAND = {
  openai: "sk-hand-openai-" + "1".repeat(24),
  openai2: "sk-hand-openai-two-" + "2".repeat(20),
  anthropic: "sk-ant-hand-" + "3".repeat(24),
  postgres: "pg-hand-password-" + "4".repeat(16),
  qdrant: "qdrant-hand-key-" + "5".repeat(16),
  header: "hand-header-token-" + "6".repeat(16),
  redis: "redis-hand-password-" + "7".repeat(16),
  neo4j: "neo4j-hand-password-" + "8".repeat(16),
  deploy: "deploy-hand-secret-" + "9".repeat(16),
};

/** 20 objects made by hand: 8 connections of 7 types, 6 access keys (3 scoped, 3 org-wide), 5 tokens, 1 deployment. */
async function makeTwenty(): Promise<void> {
  const project_id = emu.dynamiq.projectId;
  const connections: Array<{ name: string; type: string; config: Record<string, unknown> }> = [
    {
      name: "OpenAI prod",
      type: "dynamiq.connections.OpenAI",
      config: { api_key: HAND.openai, url: "https://api.openai.com/v1" },
    },
    // Slugs to the same identifier as the one above: the resource name gets a suffix.
    { name: "openai-prod", type: "dynamiq.connections.OpenAI", config: { api_key: HAND.openai2 } },
    { name: "claude", type: "dynamiq.connections.Anthropic", config: { api_key: HAND.anthropic } },
    {
      name: "analytics db",
      type: "dynamiq.connections.PostgreSQL",
      config: {
        host: "db.internal",
        port: 5432,
        database: "analytics",
        user: "reader",
        password: HAND.postgres,
      },
    },
    {
      name: "vectors",
      type: "dynamiq.connections.Qdrant",
      config: { url: "https://qdrant.internal:6333", api_key: HAND.qdrant },
    },
    {
      name: "webhook",
      type: "dynamiq.connections.Http",
      config: { url: "https://hooks.example.com/in", method: "POST", headers: { "X-Token": HAND.header } },
    },
    { name: "chroma", type: "dynamiq.connections.Chroma", config: { host: "chroma.internal", port: 8000 } },
    {
      name: "graph",
      type: "dynamiq.connections.Neo4j",
      config: { uri: "neo4j://graph.internal:7687", username: "neo4j", password: HAND.neo4j },
    },
  ];
  for (const c of connections) await api(emu, "POST", "/v1/connections", { ...c, project_id });
  const inAYear = new Date(Date.now() + 365 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
  const keys = [
    { name: "backend", project_id },
    { name: "frontend", project_id, expires_at: inAYear },
    { name: "batch jobs", project_id },
    { name: "org-wide ci" },
    { name: "org-wide-ops", expires_at: inAYear },
    { name: "analytics export" },
  ];
  for (const k of keys) {
    const made = await api<{ key: string }>(emu, "POST", "/v1/access-keys", {
      ...k,
      org_id: emu.dynamiq.orgId,
    });
    auditSecrets(made.key);
  }
  for (const [name, expires_at] of [
    ["ci", undefined],
    ["deploy bot", inAYear],
    ["laptop", undefined],
    ["nightly", undefined],
    ["grafana", inAYear],
  ] as const) {
    const pat = await admin<{ key: string }>(emu, "mint", { kind: "pat", name, expires_at });
    auditSecrets(pat.key);
  }
  await api(emu, "POST", `/v1/services/${emu.dynamiq.serviceId}/deploy`, {
    image: "registry.example.com/app:3.1.0",
    resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "200m", memory: "512Mi" } },
    env: [
      { name: "LOG_LEVEL", value: "info" },
      { name: "DB_PASSWORD", value: HAND.deploy, secret: true },
    ],
  });
  await admin(emu, `services/${emu.dynamiq.serviceId}/finish-deploys`, {});
  auditSecrets(...Object.values(HAND));
}

/** A made-up value for each secret the command asked for (a JSON object where it said so). */
function madeUpSecrets(printed: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of printed) {
    const m = /^\s*pulumi config set --secret (\S+)\s+#(.*)$/.exec(line);
    if (!m) continue;
    out[m[1]] = m[2].includes("a JSON object")
      ? JSON.stringify({ "X-Token": `made-up-${m[1]}` })
      : `made-up-${m[1]}-value`;
  }
  return out;
}

describe("pulumi-dynamiq adopt", () => {
  let dir: string;
  let printed: string[] = [];
  let source = "";
  let stack: Stack;

  it("writes a program for 20 objects made by hand, without a secret value, with the config lines to run", async () => {
    await makeTwenty();
    dir = projectFolder();
    const opts: AdoptOptions = {
      projectId: emu.dynamiq.projectId,
      orgId: emu.dynamiq.orgId,
      serviceIds: [emu.dynamiq.serviceId],
      projectKeysOnly: false,
      out: path.join(dir, "index.ts"),
      force: false,
    };
    await resetRequests(emu);
    const started = Date.now();
    const result = await adopt(opts, {
      client: () => dynamiqClient({}, settings(emu)),
      credential: emu.dynamiq.userPat,
      print: () => {},
    });
    const ms = Date.now() - started;
    printed = result.printed;
    source = fs.readFileSync(opts.out, "utf8");
    console.log(`adopt: ${result.model.resources.length} objects in ${ms} ms\n${printed.join("\n")}`);

    expect(result.model.resources.map((r) => r.kind).sort()).toEqual(
      [
        ...Array(6).fill("AccessKey"),
        ...Array(8).fill("Connection"),
        ...Array(5).fill("PersonalAccessToken"),
        "ServiceDeployment",
      ].sort(),
    );
    // One page of each list, the service and its running deployment; nothing written.
    expect((await requests(emu)).routes).toEqual({
      "GET /v1/connections": 1,
      "GET /v1/access-keys": 1,
      "GET /v1/personal-access-tokens": 1,
      "GET /v1/services/:id": 1,
      "GET /v1/services/:id/deployments/:deployment_id": 1,
    });
    expect(result.inventory.pages).toEqual({ connections: 1, accessKeys: 1, tokens: 1 });
    // The token the command runs with (the seed's bootstrap token) is left out, and says why.
    expect(printed.join("\n")).toMatch(
      /skipped personal access token "bootstrap" .*the token this command runs with/,
    );
    // Names: unique valid identifiers derived from the platform names.
    const names = [...source.matchAll(/new (\w+)\("([^"]+)"/g)].map((m) => `${m[1]}/${m[2]}`);
    expect(names).toHaveLength(20);
    expect(new Set(names).size).toBe(20);
    for (const n of names) expect(n.split("/")[1]).toMatch(/^[a-z][a-z0-9_]*$/);
    expect(names).toEqual(expect.arrayContaining(["Connection/openai_prod", "Connection/openai_prod_2"]));
    // Secrets are read from config: one line per secret field, the same keys in the program.
    const secrets = madeUpSecrets(printed);
    expect(Object.keys(secrets).sort()).toEqual(
      [
        "openaiProdApiKey",
        "openaiProd2ApiKey",
        "claudeApiKey",
        "analyticsDbPassword",
        "vectorsApiKey",
        "webhookHeaders",
        "graphPassword",
        "qaServiceEnvDbPassword",
      ].sort(),
    );
    for (const key of Object.keys(secrets))
      expect(source).toMatch(new RegExp(`Secret(Object<Record<string, string>>)?\\("${key}"\\)`));
    for (const value of Object.values(HAND)) {
      expect(source).not.toContain(value);
      expect(printed.join("\n")).not.toContain(value);
    }
    expect(source).not.toContain(emu.dynamiq.userPat);
  });

  it("the program type-checks with the repository's tsc", async () => {
    const tsc = path.join(ROOT, "node_modules", ".bin", "tsc");
    const r = await execFile(tsc, ["-p", dir], { cwd: dir }).catch(
      (e: { stdout: string; code: number }) => e,
    );
    expect("code" in r ? r.stdout : "", source).toBe("");
  });

  it("its first up adopts all 20 (nothing created or deleted on the platform, one PUT per connection), then preview --expect-no-changes passes", async () => {
    stack = new Stack(dir, {
      config: { "dynamiq:baseUrl": emu.baseUrl },
      secrets: { "dynamiq:token": emu.dynamiq.userPat, ...madeUpSecrets(printed) },
    });
    await resetRequests(emu);
    const started = Date.now();
    const up = await stack.run("up");
    const upMs = Date.now() - started;
    expect(up.exitCode, up.log).toBe(0);
    const calls = (await requests(emu)).routes;
    console.log(`first up: ${upMs} ms, steps ${JSON.stringify(ops(up))}, calls ${JSON.stringify(calls)}`);
    expect(ops(up)).toEqual({ create: 20 });
    // Adoption is a create step in the engine, but no object is made: no POST to a create route, no DELETE.
    expect(calls).toEqual({
      "GET /v1/connections/:id": 8,
      "PUT /v1/connections/:id": 8,
      "GET /v1/access-keys/:id": 6,
      "GET /v1/personal-access-tokens/:id": 5,
      "GET /v1/services/:id/deployments/:deployment_id": 1,
    });
    const state = (await stack.resources()).filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"));
    expect(state).toHaveLength(20);
    expect(state.every((r) => typeof r.inputs?.adoptId === "string" && r.id === r.inputs.adoptId)).toBe(true);
    // Every object kept its id: the platform still has exactly what was made by hand.
    const connections = await api<unknown[]>(
      emu,
      "GET",
      `/v1/connections?project_id=${emu.dynamiq.projectId}`,
    );
    expect(connections).toHaveLength(8);
    // The PUT gave each connection the declared config: the secret from stack config, the returned fields kept.
    const webhook = (connections as Array<{ id: string; name: string }>).find((c) => c.name === "webhook")!;
    const creds = await api<{ config: Record<string, unknown> }>(
      emu,
      "POST",
      `/v1/connections/${webhook.id}/credentials`,
    );
    expect(creds.config).toEqual({
      url: "https://hooks.example.com/in",
      method: "POST",
      headers: { "X-Token": "made-up-webhookHeaders" },
    });

    await resetRequests(emu);
    const preview = await stack.run("preview", { expectNoChanges: true });
    expect(preview.exitCode, preview.log).toBe(0);
    expect(ops(preview)).toEqual({ same: 20 });
    expect((await requests(emu)).total).toBe(0);
  });

  it("after adoption the CI drift check (preview --refresh --expect-no-changes) passes: one read per object, nothing to change", async () => {
    await resetRequests(emu);
    const preview = await stack.run("preview", { refresh: true, expectNoChanges: true });
    expect(preview.exitCode, preview.log).toBe(0);
    expect(ops(preview)).toEqual({ same: 20 });
    expect((await requests(emu)).routes).toEqual({
      "GET /v1/connections/:id": 8,
      "GET /v1/access-keys/:id": 6,
      "GET /v1/personal-access-tokens/:id": 5,
      "GET /v1/services/:id": 1,
    });
  });

  it("the built bin checks its flags before any call, and writes the same program", async () => {
    const bin = path.join(ROOT, "dist", "cli", "index.js");
    const env = {
      ...process.env,
      DYNAMIQ_API_TOKEN: emu.dynamiq.userPat,
      DYNAMIQ_API_BASE_URL: emu.baseUrl,
      DYNAMIQ_API_KEY: "",
    };
    await resetRequests(emu);
    const bad = await execFile(process.execPath, [bin, "adopt", "--project", "not-a-uuid"], { env }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toMatch(
      /--project must be a project id \(a UUID\), got "not-a-uuid"/,
    );
    expect((await requests(emu)).total).toBe(0);

    const out = path.join(dir, "again.ts");
    const args = ["adopt", "--project", emu.dynamiq.projectId, "--org", emu.dynamiq.orgId];
    const started = Date.now();
    const ok = await execFile(
      process.execPath,
      [bin, ...args, "--service", emu.dynamiq.serviceId, "--out", out],
      { env },
    );
    console.log(`the bin, 20 objects: ${Date.now() - started} ms (node's start included)`);
    expect(fs.readFileSync(out, "utf8")).toBe(source);
    expect(ok.stdout).toMatch(
      /^adopt: 20 objects \(8 connections, 6 access keys, 5 personal access tokens, 1 service deployment\)/,
    );
    expect(ok.stdout).toContain("pulumi config set --secret analyticsDbPassword");
    for (const value of [...Object.values(HAND), emu.dynamiq.userPat]) {
      expect(ok.stdout + ok.stderr).not.toContain(value);
    }
    // An existing file is not overwritten without --force.
    const again = await execFile(process.execPath, [bin, ...args, "--out", out], { env }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(again).toMatchObject({ code: 2 });
    expect((again as { stderr: string }).stderr).toMatch(/--out .* exists; pass --force/);
    // Only the keys scoped to the project.
    const scoped = await execFile(process.execPath, [bin, ...args, "--project-keys-only", "--out", "-"], {
      env,
    });
    expect(scoped.stdout.match(/new AccessKey\(/g)).toHaveLength(3);
  });
});

describe("the built bin's errors: exit 1, the platform's own words, no secret printed", () => {
  const bin = path.join(ROOT, "dist", "cli", "index.js");
  const UNKNOWN = "00000000-0000-4000-8000-000000000000";
  const accessKey = "dynamiq_acc_" + "k".repeat(40);
  const revokedPat = "dyn_pat_" + "r".repeat(48);

  it.each([
    {
      case: "no token in the environment",
      token: undefined,
      args: [] as string[],
      message:
        /no credential configured.*\n.*reads no stack config, only the environment: DYNAMIQ_API_TOKEN \(or DYNAMIQ_API_KEY\)/,
      calls: 0,
    },
    {
      case: "an Access Key instead of a PAT",
      token: accessKey,
      args: [],
      message: /\(DYNAMIQ_API_TOKEN\) is an Access Key .* needs a Personal Access Token/,
      calls: 0,
    },
    {
      case: "a PAT the platform refuses",
      token: revokedPat,
      args: [],
      message: /dynamiq: GET \/v1\/connections returned 401 \w+: .* \[request id req_\w+\]/,
      calls: 1,
    },
    {
      case: "a service that does not exist",
      token: "seed",
      args: ["--service", UNKNOWN],
      message: new RegExp(
        `dynamiq: GET /v1/services/${UNKNOWN} returned 404 \\w+: .* \\[request id req_\\w+\\]`,
      ),
      calls: 3,
    },
  ])("$case", async ({ token, args, message, calls }) => {
    const out = path.join(dir(), "index.ts");
    const env: NodeJS.ProcessEnv = { ...process.env, DYNAMIQ_API_BASE_URL: emu.baseUrl };
    delete env.DYNAMIQ_API_TOKEN;
    delete env.DYNAMIQ_API_KEY;
    if (token !== undefined) env.DYNAMIQ_API_TOKEN = token === "seed" ? emu.dynamiq.userPat : token;
    await resetRequests(emu);
    const r = await execFile(
      process.execPath,
      [bin, "adopt", "--project", emu.dynamiq.projectId, ...args, "--out", out],
      { env },
    ).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect(r).toMatchObject({ code: 1 });
    const { stdout, stderr } = r as { stdout: string; stderr: string };
    expect(stderr).toMatch(message);
    expect((await requests(emu)).total).toBe(calls);
    expect(fs.existsSync(out)).toBe(false);
    for (const secret of [accessKey, revokedPat, emu.dynamiq.userPat])
      expect(stdout + stderr).not.toContain(secret);
  });

  /** An empty folder of the suite's own, removed at the end. */
  function dir(): string {
    fs.mkdirSync(path.join(ROOT, ".tmp"), { recursive: true });
    const d = fs.mkdtempSync(path.join(ROOT, ".tmp", "adopt-err-"));
    folders.push(d);
    return d;
  }
});

describe("lists longer than one page", () => {
  it("walks every page of 500: 501 connections, 520 access keys and 505 tokens", async () => {
    const big = await emulator();
    try {
      for (let i = 0; i < 501; i++) {
        await api(big, "POST", "/v1/connections", {
          name: `chroma-${i}`,
          project_id: big.dynamiq.projectId,
          type: "dynamiq.connections.Chroma",
          config: { host: `chroma-${i}.internal`, port: 8000 },
        });
      }
      for (let i = 0; i < 520; i++) {
        await api(big, "POST", "/v1/access-keys", { name: `key-${i}`, org_id: big.dynamiq.orgId }).then((k) =>
          auditSecrets((k as { key: string }).key),
        );
      }
      for (let i = 0; i < 504; i++)
        auditSecrets((await admin<{ key: string }>(big, "mint", { kind: "pat", name: `t-${i}` })).key);
      await resetRequests(big);
      const inv = await listOrganisation(dynamiqClient({}, settings(big)), {
        projectId: big.dynamiq.projectId,
        orgId: big.dynamiq.orgId,
        serviceIds: [],
        projectKeysOnly: false,
      });
      console.log(
        `paging: ${inv.connections.length} connections in ${inv.pages.connections} pages, ${inv.accessKeys.length} keys in ${inv.pages.accessKeys} pages, ${inv.tokens.length} tokens in ${inv.pages.tokens} pages`,
      );
      expect(inv.connections).toHaveLength(501);
      expect(new Set(inv.connections.map((c) => c.id)).size).toBe(501);
      expect(inv.accessKeys).toHaveLength(520);
      expect(new Set(inv.accessKeys.map((k) => k.id)).size).toBe(520);
      expect(inv.tokens).toHaveLength(505); // 504 minted and the seed's bootstrap token
      expect(inv.pages).toEqual({ connections: 2, accessKeys: 2, tokens: 2 });
      expect((await requests(big)).routes).toEqual({
        "GET /v1/connections": 2,
        "GET /v1/access-keys": 2,
        "GET /v1/personal-access-tokens": 2,
      });
    } finally {
      await big.close();
    }
  });
});

// `npx pulumi-dynamiq adopt` as users run it: `npm pack` of this repository, the tarball installed into an empty
// folder of the system's temporary directory (no Pulumi project yet, no @pulumi/pulumi: the command needs
// neither), and the bin npm links, run against the emulator. It packs dist/ as it is: run `npm run build` first
// when running this file alone.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import { api, auditSecrets, closeAndAudit, emulator, requests, resetRequests, tempDir } from "../support";
import { consumerEnv, packRepository, run, type Ran } from "./consumer";

let emu: Emulator;
let work: string;
let folder: string;
const apiKey = "sk-packaged-adopt-" + "7".repeat(24);

beforeAll(async () => {
  emu = await emulator();
  work = tempDir("dynamiq-adopt-bin-");
  folder = path.join(work, "empty");
  fs.mkdirSync(folder);
  const packed = await packRepository(work);
  expect(packed.files).toEqual(expect.arrayContaining(["dist/cli/index.js", "dist/cli/adopt.js"]));
  fs.writeFileSync(
    path.join(folder, "package.json"),
    JSON.stringify({ name: "adopt-here", version: "0.0.0", private: true }),
  );
  // --legacy-peer-deps: @pulumi/pulumi (the peer) is left out, to show the command runs without it.
  const install = await run(
    "npm",
    ["install", "--no-audit", "--no-fund", "--prefer-offline", "--legacy-peer-deps", packed.tarball],
    { cwd: folder, timeoutMs: 300_000 },
  );
  if (install.code !== 0) throw new Error(`npm install failed (exit ${install.code}):\n${install.output}`);
}, 600_000);

afterAll(async () => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
  await closeAndAudit(emu, "adopt-bin", apiKey);
});

function npx(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return run("npx", ["--no-install", "pulumi-dynamiq", ...args], {
    cwd: folder,
    env: consumerEnv({ DYNAMIQ_API_TOKEN: "", DYNAMIQ_API_KEY: "", ...env }),
  });
}

describe("npx pulumi-dynamiq, installed from the packed tarball", () => {
  it("is linked by npm and prints its usage", async () => {
    expect(fs.existsSync(path.join(folder, "node_modules", "@pulumi", "pulumi"))).toBe(false);
    const help = await npx(["--help"]);
    expect(help.code, help.output).toBe(0);
    expect(help.stdout).toMatch(/^usage: pulumi-dynamiq adopt --project <project id>/);
  });

  it("adopt writes the program to stdout and the config lines to set, with no secret value", async () => {
    await api(emu, "POST", "/v1/connections", {
      name: "OpenAI prod",
      project_id: emu.dynamiq.projectId,
      type: "dynamiq.connections.OpenAI",
      config: { api_key: apiKey, url: "https://api.openai.com/v1" },
    });
    const key = await api<{ id: string; key: string }>(emu, "POST", "/v1/access-keys", {
      name: "backend",
      org_id: emu.dynamiq.orgId,
      project_id: emu.dynamiq.projectId,
    });
    auditSecrets(key.key);
    await resetRequests(emu);
    const r = await npx(
      ["adopt", "--project", emu.dynamiq.projectId, "--org", emu.dynamiq.orgId, "--out", "-"],
      {
        DYNAMIQ_API_TOKEN: emu.dynamiq.userPat,
        DYNAMIQ_API_BASE_URL: emu.baseUrl,
      },
    );
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain('import { AccessKey, Connection } from "pulumi-dynamiq";');
    expect(r.stdout).toContain(`new AccessKey("backend", {\n  adoptId: "${key.id}",`);
    expect(r.stdout).toContain('api_key: config.requireSecret("openaiProdApiKey"),');
    expect(r.stdout).toContain("pulumi config set --secret openaiProdApiKey");
    expect(r.stdout).toMatch(/^adopt: 2 objects \(1 connection, 1 access key, 0 personal access tokens/m);
    for (const secret of [apiKey, key.key, emu.dynamiq.userPat]) expect(r.output).not.toContain(secret);
    expect((await requests(emu)).routes).toEqual({
      "GET /v1/connections": 1,
      "GET /v1/access-keys": 1,
      "GET /v1/personal-access-tokens": 1,
    });
  });

  it("a bad flag exits 2, naming the flag and the rule, before any call", async () => {
    await resetRequests(emu);
    const r = await npx(["adopt", "--project", emu.dynamiq.projectId, "--project-keys-only"], {
      DYNAMIQ_API_TOKEN: emu.dynamiq.userPat,
      DYNAMIQ_API_BASE_URL: emu.baseUrl,
    });
    expect(r.code, r.output).toBe(2);
    expect(r.output).toContain("--project-keys-only needs --org");
    expect((await requests(emu)).total).toBe(0);
  });
});

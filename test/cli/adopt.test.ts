// The adopt command's plain functions: argv rules, the model (names, secrets, what is skipped) and the text.
import { describe, expect, it } from "vitest";
import type { DynamiqClient, Pagination } from "../../provider/clients/dynamiq";
import {
  UsageError,
  adoptionModel,
  identifierOf,
  listOrganisation,
  parseAdoptArgs,
  programText,
  type Inventory,
} from "../../cli/adopt";
import { tokenPreview } from "../../provider/resources/personal-access-token";

const P = "11111111-1111-4111-8111-111111111111";
const O = "22222222-2222-4222-8222-222222222222";
const S = "33333333-3333-4333-8333-333333333333";
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
// A made-up token, built at run time so that no key-shaped literal is committed: preview `dyn_pat_abc...xyz`.
const OWN = "dyn_pat_abc" + "0".repeat(20) + "xyz";
const NOW = new Date("2026-11-28T00:00:00Z");

describe("parseAdoptArgs", () => {
  it("reads every flag", () => {
    expect(
      parseAdoptArgs([
        "--project",
        P,
        `--org=${O}`,
        "--service",
        S,
        "--service",
        `${S},${id(9)}`,
        "--project-keys-only",
        "--out",
        "-",
        "--force",
      ]),
    ).toEqual({
      projectId: P,
      orgId: O,
      serviceIds: [S, id(9)],
      projectKeysOnly: true,
      out: "-",
      force: true,
    });
    expect(parseAdoptArgs(["--project", P])).toMatchObject({ out: "index.ts", serviceIds: [], force: false });
  });

  it.each([
    [[], /--project is required/],
    [["--project", "abc"], /--project must be a project id \(a UUID\), got "abc"/],
    [["--project"], /--project needs a value/],
    [["--project", "--org", O], /--project needs a value/],
    [["--project", P, "--org", "x"], /--org must be an organisation id \(a UUID\), got "x"/],
    [["--project", P, "--service", "x"], /--service must be a service id \(a UUID\), got "x"/],
    [["--project", P, "--project-keys-only"], /--project-keys-only needs --org/],
    [["--project", P, "--project", P], /--project may be given only once/],
    [["--project", P, "--token", "x"], /unknown flag --token/],
    [["--project", P, "extra"], /unexpected argument "extra"/],
    [["--project", P, "--force=yes"], /--force takes no value/],
    [["--project", P, "--out", ""], /--out must not be empty/],
  ])("%j is refused: %s", (argv, message) => {
    expect(() => parseAdoptArgs(argv as string[])).toThrow(UsageError);
    expect(() => parseAdoptArgs(argv as string[])).toThrow(message);
  });
});

describe("names", () => {
  it.each([
    ["OpenAI prod", "openai_prod"],
    ["openai-prod", "openai_prod"],
    ["  Café déjà vu  ", "cafe_deja_vu"],
    ["2024 keys", "key_2024_keys"],
    ["///", "key"],
    ["batch.jobs/v2", "batch_jobs_v2"],
  ])("%j → %s", (name, expected) => {
    expect(identifierOf(name, "key")).toBe(expected);
  });

  it("previews a token as the platform does", () => {
    expect(tokenPreview(OWN)).toBe("dyn_pat_abc...xyz");
    expect(tokenPreview("dynamiq_acc_x")).toBe("");
  });
});

function inventory(over: Partial<Inventory> = {}): Inventory {
  return {
    projectId: P,
    orgId: O,
    connections: [],
    accessKeys: [],
    tokens: [],
    deployments: [],
    pages: { connections: 1, accessKeys: 1, tokens: 1 },
    ...over,
  };
}

const conn = (n: number, name: string, type: string, config: Record<string, unknown>) => ({
  id: id(n),
  name,
  project_id: P,
  type: `dynamiq.connections.${type}`,
  status: "active",
  config,
});

describe("adoptionModel and programText", () => {
  it("declares returned fields as they are, reads every secret field from config, never copies a returned secret", () => {
    const model = adoptionModel(
      inventory({
        connections: [
          // A platform that (wrongly) returns a secret field: it is still read from config, not copied.
          conn(1, "OpenAI prod", "OpenAI", { url: "https://x", api_key: "sk-returned-by-mistake" }),
          conn(2, "openai-prod", "OpenAI", { extra: null }),
          conn(3, "db", "PostgreSQL", { port: 5432, host: "h" }),
          conn(4, "custom", "SomethingNew", { region: "eu" }),
        ],
      }),
      OWN,
      NOW,
    );
    expect(model.resources.map((r) => r.resourceName)).toEqual([
      "openai_prod",
      "openai_prod_2",
      "db",
      "custom",
    ]);
    expect(model.secrets.map((s) => [s.key, s.required, s.object])).toEqual([
      ["openaiProdApiKey", true, false],
      ["openaiProd2ApiKey", true, false],
      ["dbPassword", false, false],
    ]);
    const text = programText(model);
    expect(text).not.toContain("sk-returned-by-mistake");
    expect(text).toContain('api_key: config.requireSecret("openaiProdApiKey"),');
    expect(text).toContain('password: config.getSecret("dbPassword"),');
    // Catalogue order (host before port), whatever order the platform answered in; nulls left out.
    expect(text).toMatch(/host: "h",\n\s+port: 5432,/);
    expect(text).not.toContain("extra");
    // An uncatalogued type: its returned fields only (its secret fields are unknown).
    expect(text).toContain('region: "eu",');
    expect(text).toContain('import * as pulumi from "@pulumi/pulumi";');
    expect(text).toContain('import { Connection } from "pulumi-dynamiq";');
    expect(text).toContain(`const projectId = "${P}";`);
  });

  it("skips the command's own token, expired credentials and services with nothing running; declares expiry and scope", () => {
    const tok = (n: number, name: string, preview: string, expires_at: string | null = null) => ({
      id: id(n),
      name,
      preview,
      expires_at,
      created_at: "2026-01-01T00:00:00Z",
    });
    const key = (n: number, name: string, project_id: string | null, expires_at: string | null = null) => ({
      ...tok(n, name, "dynamiq_acc_abc...xyz", expires_at),
      org_id: O,
      project_id,
    });
    const model = adoptionModel(
      inventory({
        tokens: [
          tok(1, "bootstrap", tokenPreview(OWN)),
          tok(2, "old", "dyn_pat_aaa...bbb", "2026-01-01T00:00:00Z"),
          tok(3, "ci", "dyn_pat_ccc...ddd", "2027-01-01T00:00:00Z"),
        ],
        accessKeys: [key(4, "scoped", P), key(5, "org wide", null), key(6, "elsewhere", id(99))],
        deployments: [
          { service: { id: S, name: "idle", active_deployment_id: null }, deployment: null },
          {
            service: { id: id(7), name: "api", active_deployment_id: id(8) },
            deployment: {
              id: id(8),
              service_id: id(7),
              image: "img:1",
              status: "succeeded",
              created_at: "2026-01-01T00:00:00Z",
              env: [
                { name: "A", value: "1" },
                { name: "TOKEN", secret: true },
              ],
            },
          },
        ],
      }),
      OWN,
      NOW,
    );
    expect(model.skipped.map((s) => s.what)).toEqual([
      `personal access token "bootstrap" (${id(1)})`,
      `personal access token "old" (${id(2)})`,
      `service "idle" (${S})`,
    ]);
    const text = programText(model);
    expect(text).toMatch(
      /new PersonalAccessToken\("ci", \{\n {2}adoptId: ".*",\n {2}name: "ci",\n {2}expiresAt: "2027-01-01T00:00:00Z",\n\}\);/,
    );
    expect(text).toMatch(/new AccessKey\("scoped", \{[^}]*orgId,\n {2}projectId,\n/);
    expect(text).toMatch(
      /new AccessKey\("org_wide", \{\n {2}adoptId: ".*",\n {2}orgId,\n {2}name: "org wide",\n\}\);/,
    );
    expect(text).toContain(`projectId: "${id(99)}",`);
    expect(text).toContain(
      'env: {\n    A: "1",\n  },\n  secretEnv: {\n    TOKEN: config.requireSecret("apiEnvToken"),\n  },',
    );
  });

  it("always writes a deployment's env, even empty, and no pulumi import when nothing is secret", () => {
    const text = programText(
      adoptionModel(
        inventory({
          deployments: [
            {
              service: { id: S, name: "svc", active_deployment_id: id(1) },
              deployment: { id: id(1), service_id: S, image: "i", status: "succeeded", created_at: "x" },
            },
          ],
        }),
        OWN,
        NOW,
      ),
    );
    expect(text).toContain("  env: {},");
    expect(text).not.toContain("@pulumi/pulumi");
    expect(text).not.toContain("secretEnv");
  });
});

describe("listOrganisation", () => {
  it("walks every page of every list and filters keys to the project when asked", async () => {
    const calls: string[] = [];
    const pages =
      <T>(what: string, all: T[]) =>
      async (q: { page?: number; page_size?: number }) => {
        calls.push(`${what} ${q.page}/${q.page_size}`);
        const size = q.page_size!;
        const pagination: Pagination = {
          page: q.page!,
          page_size: size,
          page_count: Math.ceil(all.length / size),
          total_count: all.length,
        };
        return { data: all.slice((q.page! - 1) * size, q.page! * size), pagination };
      };
    const keys = Array.from({ length: 5 }, (_, i) => ({
      id: id(i),
      name: `k${i}`,
      org_id: O,
      project_id: i % 2 ? P : null,
      preview: "",
      expires_at: null,
      created_at: "",
    }));
    const client = {
      listConnections: pages("connections", [conn(1, "a", "Chroma", {}), conn(2, "b", "Chroma", {})]),
      listAccessKeys: pages("keys", keys),
      listTokens: pages("tokens", []),
    } as unknown as DynamiqClient;
    const inv = await listOrganisation(
      client,
      { projectId: P, orgId: O, serviceIds: [], projectKeysOnly: true },
      2,
    );
    expect(calls).toEqual(["connections 1/2", "keys 1/2", "keys 2/2", "keys 3/2", "tokens 1/2"]);
    expect(inv.pages).toEqual({ connections: 1, accessKeys: 3, tokens: 1 });
    expect(inv.accessKeys.map((k) => k.name)).toEqual(["k1", "k3"]);
  });
});

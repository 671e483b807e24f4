import { describe, expect, it } from "vitest";

import type { Emulator } from "../../emulator/server";
import { admin, asUser, call, type Json, useSeededEmulator } from "./helpers";

let emu: Emulator;
let logs: string[];

useSeededEmulator((started) => ({ emu, logs } = started));

const SECRET = "sk-live-very-secret-value";

function create(fields: Record<string, unknown> = {}) {
  return asUser(emu, "POST", "/v1/connections", {
    name: "openai-prod",
    project_id: emu.dynamiq.projectId,
    type: "dynamiq.connections.OpenAI",
    config: { api_key: SECRET, url: "https://api.openai.com/v1" },
    ...fields,
  });
}

describe("connections CRUD", () => {
  it("create answers 200 with a redacted connection; status active", async () => {
    const res = await create();
    expect(res.status).toBe(200);
    const c = res.body.data;
    expect(c).toMatchObject({
      name: "openai-prod",
      project_id: emu.dynamiq.projectId,
      type: "dynamiq.connections.OpenAI",
      status: "active",
      is_system: false,
      config: { url: "https://api.openai.com/v1" },
    });
    expect(Object.keys(c).sort()).toEqual(
      [
        "config",
        "created_at",
        "id",
        "is_system",
        "name",
        "project_id",
        "status",
        "type",
        "updated_at",
      ].sort(),
    );
    expect(res.text).not.toContain(SECRET);
  });

  it("GET and list never return secret fields, headers or env maps; /credentials does", async () => {
    const config = {
      url: "https://mcp.example.com",
      headers: { Authorization: "Bearer hdr-secret" },
      env: { TOKEN: "env-secret" },
      password: "pw-secret",
      access_token: "tok-secret",
      private_key: "pk-secret",
      nested: { client_secret: "nested-secret", region: "eu" },
      timeout: 30,
    };
    const created = await create({ type: "dynamiq.connections.MCPSse", config });
    const id = created.body.data.id;
    const got = await asUser(emu, "GET", `/v1/connections/${id}`);
    expect(got.status).toBe(200);
    expect(got.body.data.config).toEqual({
      url: "https://mcp.example.com",
      nested: { region: "eu" },
      timeout: 30,
    });
    const list = await asUser(emu, "GET", `/v1/connections?project_id=${emu.dynamiq.projectId}`);
    for (const text of [got.text, list.text, created.text]) {
      for (const secret of [
        "hdr-secret",
        "env-secret",
        "pw-secret",
        "tok-secret",
        "pk-secret",
        "nested-secret",
      ]) {
        expect(text).not.toContain(secret);
      }
    }
    const creds = await asUser(emu, "POST", `/v1/connections/${id}/credentials`);
    expect(creds.status).toBe(200);
    expect(creds.body.data.config).toEqual(config);
    expect(logs.join("\n")).not.toContain("pw-secret");
  });

  it("PUT updates type and config, not the name", async () => {
    const created = await create();
    const id = created.body.data.id;
    const put = await asUser(emu, "PUT", `/v1/connections/${id}`, {
      name: "renamed",
      type: "dynamiq.connections.Anthropic",
      config: { api_key: "new-secret" },
    });
    expect(put.status).toBe(200);
    expect(put.body.data).toMatchObject({
      name: "openai-prod",
      type: "dynamiq.connections.Anthropic",
      config: {},
    });
    expect(Date.parse(put.body.data.updated_at)).toBeGreaterThanOrEqual(
      Date.parse(created.body.data.updated_at),
    );
    const creds = await asUser(emu, "POST", `/v1/connections/${id}/credentials`);
    expect(creds.body.data.config).toEqual({ api_key: "new-secret" });
    const bad = await asUser(emu, "PUT", `/v1/connections/${id}`, { config: "nope" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe("config");
  });

  it("DELETE answers 204, then 404", async () => {
    const id = (await create()).body.data.id;
    const del = await asUser(emu, "DELETE", `/v1/connections/${id}`);
    expect(del.status).toBe(204);
    expect(del.text).toBe("");
    expect((await asUser(emu, "GET", `/v1/connections/${id}`)).status).toBe(404);
    expect((await asUser(emu, "DELETE", `/v1/connections/${id}`)).status).toBe(404);
  });

  it("DELETE of a connection in use is 409 connection_in_use", async () => {
    const id = (await create()).body.data.id;
    expect((await admin(emu, "POST", `/_admin/connections/${id}/in-use`, { inUse: true })).status).toBe(200);
    const del = await asUser(emu, "DELETE", `/v1/connections/${id}`);
    expect(del.status).toBe(409);
    expect(del.body.error.code).toBe("connection_in_use");
    await admin(emu, "POST", `/_admin/connections/${id}/in-use`, { inUse: false });
    expect((await asUser(emu, "DELETE", `/v1/connections/${id}`)).status).toBe(204);
  });

  it("validates the create body", async () => {
    for (const [fields, field] of [
      [{ config: "x" }, "config"],
      [{ config: [1] }, "config"],
      [{ config: undefined }, "config"],
      [{ name: "" }, "name"],
      [{ type: 7 }, "type"],
      [{ project_id: undefined }, "project_id"],
    ] as Array<[Record<string, unknown>, string]>) {
      const res = await create(fields);
      expect(res.status, JSON.stringify(fields)).toBe(400);
      expect(res.body.error.code).toBe("validation_error");
      expect(res.body.error.details.field).toBe(field);
    }
    const unknownProject = await create({ project_id: "00000000-0000-4000-8000-000000000000" });
    expect(unknownProject.status).toBe(400);
    expect(unknownProject.body.error.code).toBe("project_not_found");
    const foreign = await create({ project_id: emu.dynamiq.otherProjectId });
    expect(foreign.status).toBe(403);
  });

  it("accepts unknown types", async () => {
    const res = await create({ type: "dynamiq.connections.SomethingNew", config: { url: "x" } });
    expect(res.status).toBe(200);
    expect(res.body.data.status).toBe("active");
  });
});

describe("connection lists", () => {
  it("project_id is required; type and include_system filter; system connections have no config", async () => {
    expect((await asUser(emu, "GET", "/v1/connections")).status).toBe(400);
    await create({ name: "a" });
    await create({
      name: "b",
      type: "dynamiq.connections.PostgreSQL",
      config: { host: "db", password: "p" },
    });
    const base = `/v1/connections?project_id=${emu.dynamiq.projectId}`;

    const plain = await asUser(emu, "GET", base);
    expect(plain.body.data.map((c: Json) => c.name)).toEqual(["a", "b"]);
    expect(plain.body.pagination.total_count).toBe(2);

    const typed = await asUser(emu, "GET", `${base}&type=dynamiq.connections.PostgreSQL`);
    expect(typed.body.data.map((c: Json) => c.name)).toEqual(["b"]);

    const withSystem = await asUser(emu, "GET", `${base}&include_system=true`);
    expect(withSystem.body.data).toHaveLength(3);
    const system = withSystem.body.data.find((c: Json) => c.is_system);
    expect(system.config).toBeNull();
    const one = await asUser(emu, "GET", `/v1/connections/${system.id}`);
    expect(one.body.data.config).toBeNull();
    expect((await asUser(emu, "DELETE", `/v1/connections/${system.id}`)).status).toBe(403);
    expect((await asUser(emu, "POST", `/v1/connections/${system.id}/credentials`)).status).toBe(403);

    expect((await asUser(emu, "GET", `${base}&include_system=maybe`)).status).toBe(400);
    const paged = await asUser(emu, "GET", `${base}&page_size=1&page=2`);
    expect(paged.body.data.map((c: Json) => c.name)).toEqual(["b"]);
    expect(paged.body.pagination).toEqual({ page: 2, page_size: 1, page_count: 2, total_count: 2 });
  });
});

describe("OAuth connections", () => {
  it("start incomplete, return a consent URL, become active once authorised", async () => {
    const res = await create({
      type: "dynamiq.connections.GoogleOAuth2",
      config: { scopes: ["drive.readonly"] },
    });
    const c = res.body.data;
    expect(c.status).toBe("incomplete");
    const auth = await asUser(emu, "POST", `/v1/connections/${c.id}/oauth2/authorize`);
    expect(auth.status).toBe(200);
    expect(auth.body.data.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/_admin\/oauth2\/consent\?state=/);

    const consent = await fetch(auth.body.data.url);
    expect(consent.status).toBe(200);
    const after = await asUser(emu, "GET", `/v1/connections/${c.id}`);
    expect(after.body.data.status).toBe("active");
    expect(after.text).not.toMatch(/emu_oauth_|state/);
    const creds = await asUser(emu, "POST", `/v1/connections/${c.id}/credentials`);
    expect(creds.body.data.oauth.access_token).toMatch(/^emu_oauth_/);
  });

  it("the admin route completes consent; expired is settable; non-OAuth types get 400", async () => {
    const c = (await create({ type: "dynamiq.connections.BoxOAuth2", config: {} })).body.data;
    const done = await admin(emu, "POST", `/_admin/connections/${c.id}/authorize`);
    expect(done.body.status).toBe("active");
    await admin(emu, "POST", "/_admin/tamper", {
      kind: "connection",
      id: c.id,
      patch: { status: "expired" },
    });
    expect((await asUser(emu, "GET", `/v1/connections/${c.id}`)).body.data.status).toBe("expired");

    const plain = (await create()).body.data;
    const res = await asUser(emu, "POST", `/v1/connections/${plain.id}/oauth2/authorize`);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("bad_request");
  });

  it("connections of a foreign project are 403, unknown ids 404", async () => {
    const other = await admin(emu, "POST", "/_admin/mint", { kind: "pat", user: "other" });
    const theirs = await call(emu, "POST", "/v1/connections", {
      token: other.body.key,
      json: {
        name: "b",
        project_id: emu.dynamiq.otherProjectId,
        type: "dynamiq.connections.OpenAI",
        config: {},
      },
    });
    expect(theirs.status).toBe(200);
    for (const [method, suffix] of [
      ["GET", ""],
      ["PUT", ""],
      ["DELETE", ""],
      ["POST", "/credentials"],
    ]) {
      const res = await asUser(emu, method, `/v1/connections/${theirs.body.data.id}${suffix}`, {
        config: {},
      });
      expect(res.status, `${method} ${suffix}`).toBe(403);
    }
    expect((await asUser(emu, "GET", "/v1/connections/00000000-0000-4000-8000-000000000000")).status).toBe(
      404,
    );
  });
});

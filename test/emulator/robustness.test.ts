import * as net from "node:net";

import { describe, expect, it } from "vitest";

import type { Emulator } from "../../emulator/server";
import { admin, asUser, call, useSeededEmulator } from "./helpers";

let emu: Emulator;
let logs: string[];

useSeededEmulator((started) => ({ emu, logs } = started));

const post = (
  raw: string | Uint8Array,
  headers: Record<string, string> = { "content-type": "application/json" },
) => call(emu, "POST", "/v1/connections", { token: emu.dynamiq.userPat, raw, headers });

async function stillAlive(): Promise<void> {
  expect((await asUser(emu, "GET", `/v1/access-keys?org_id=${emu.dynamiq.orgId}`)).status).toBe(200);
}

describe("malformed requests never crash the emulator", () => {
  it("bad JSON is 400 bad_request and the body is not echoed", async () => {
    const res = await post('{"name": "x", "config": {"api_key": "sk-leak-check"');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("bad_request");
    expect(res.text).not.toContain("sk-leak-check");
    await stillAlive();
  });

  it.each([["[]"], ['"text"'], ["42"], ["null"], ["true"]])("non-object JSON %s is 400", async (raw) => {
    const res = await post(raw);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("bad_request");
  });

  it("an empty body on a create is 400", async () => {
    const res = await post("");
    expect(res.status).toBe(400);
  });

  it("a non-JSON content type is 415", async () => {
    const res = await post("name=x", { "content-type": "application/x-www-form-urlencoded" });
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe("unsupported_media_type");
  });

  it("a 2 MB body is 413 payload_too_large, then the server keeps answering", async () => {
    const big = JSON.stringify({ name: "x", config: { blob: "a".repeat(2 * 1024 * 1024) } });
    const res = await post(big);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("payload_too_large");
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    await stillAlive();
  });

  it("unknown routes are 404 not_found, wrong methods 405 with Allow", async () => {
    const missing = await asUser(emu, "GET", "/v2/whatever");
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("not_found");
    const wrong = await call(emu, "PATCH", "/v1/connections", { token: emu.dynamiq.userPat });
    expect(wrong.status).toBe(405);
    expect(wrong.body.error.code).toBe("method_not_allowed");
    expect(wrong.headers.get("allow")).toBe("GET, POST");
    const adminWrong = await call(emu, "GET", "/_admin/reset");
    expect(adminWrong.status).toBe(405);
  });

  it("odd paths are handled: trailing slash, bad percent-encoding, encoded ids", async () => {
    expect((await asUser(emu, "GET", `/v1/access-keys/?org_id=${emu.dynamiq.orgId}`)).status).toBe(200);
    expect((await asUser(emu, "GET", "/v1/connections/%E0%A4%A")).status).toBe(404);
    expect((await asUser(emu, "GET", "/v1/connections/a%2Fb")).status).toBe(404);
  });

  it("a malformed HTTP request line gets 400 and the server keeps answering", async () => {
    const port = Number(new URL(emu.baseUrl).port);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => socket.write("THIS IS NOT HTTP\r\n\r\n"));
      let data = "";
      socket.on("data", (d) => (data += d.toString()));
      socket.on("end", () => resolve(data));
      socket.on("error", reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect(reply).toMatch(/X-Request-Id: req_[0-9a-f]{24}/);
    expect(reply).toContain('"code":"bad_request"');
    await stillAlive();
  });

  it("a client that aborts mid-body does not break the server", async () => {
    const port = Number(new URL(emu.baseUrl).port);
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.write(
          'POST /v1/connections HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"na',
        );
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 20);
      });
    });
    await stillAlive();
  });
});

describe("headers and logs", () => {
  it("every response carries x-request-id, success or not, admin or not", async () => {
    const ok = await asUser(emu, "GET", `/v1/access-keys?org_id=${emu.dynamiq.orgId}`);
    const adminRes = await admin(emu, "GET", "/_admin/seed");
    const created = await asUser(emu, "POST", "/v1/personal-access-tokens", { name: "x" });
    const del = await asUser(emu, "DELETE", `/v1/personal-access-tokens/${created.body.data.id}`);
    for (const res of [ok, adminRes, created, del]) {
      expect(res.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{24}$/);
    }
    expect(ok.headers.get("content-type")).toBe("application/json; charset=utf-8");
  });

  it("logs one line per request with method, path, status, request id and time, and no secrets", async () => {
    logs.length = 0;
    const created = await asUser(emu, "POST", "/v1/access-keys", { name: "k", org_id: emu.dynamiq.orgId });
    await call(emu, "GET", `/v1/access-keys?org_id=${emu.dynamiq.orgId}&token=${created.body.data.key}`, {
      token: created.body.data.key,
    });
    await call(emu, "GET", `/v1/connections/${created.body.data.key}`, { token: emu.dynamiq.userPat });
    expect(logs).toHaveLength(3);
    expect(logs[0]).toMatch(/^POST \/v1\/access-keys 200 req_[0-9a-f]{24} \d+\.\dms$/);
    const all = logs.join("\n");
    expect(all).not.toContain(created.body.data.key);
    expect(all).not.toContain(emu.dynamiq.userPat);
    expect(all).not.toContain("org_id=");
    expect(logs[2]).toContain("/v1/connections/dynamiq_acc_<redacted>");
  });
});

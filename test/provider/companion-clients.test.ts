import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { dypaiClient } from "../../provider/clients/dypai";
import { flightcontrolClient } from "../../provider/clients/flightcontrol";
import { ApiError, ConfigurationError, NotFoundError, TransportError } from "../../provider/errors";
import { configure, dypaiSettings, flightcontrolSettings, resetConfiguration } from "../../provider/settings";
import { thrown } from "./companion-support";

const config = (values: Record<string, string>) => ({ get: (k: string) => values[k] });
afterEach(() => resetConfiguration());

describe("Flightcontrol and DYPAI settings", () => {
  it("Flightcontrol: stack config first, then FLIGHTCONTROL_* variables; the public API by default", () => {
    expect(flightcontrolSettings({ FLIGHTCONTROL_API_KEY: "fc_env" })).toEqual({
      platform: "flightcontrol",
      credential: "fc_env",
      credentialSetting: "FLIGHTCONTROL_API_KEY",
      baseUrl: "https://api.flightcontrol.dev",
    });
    expect(
      flightcontrolSettings({ FLIGHTCONTROL_API_KEY: "fc_env", FLIGHTCONTROL_BASE_URL: "fc.example.com/api" })
        .baseUrl,
    ).toBe("https://fc.example.com/api");
    configure(
      config({
        "flightcontrol:apiKey": "fc_cfg",
        "flightcontrol:baseUrl": "http://127.0.0.1:9/flightcontrol",
      }),
    );
    expect(flightcontrolSettings({ FLIGHTCONTROL_API_KEY: "fc_env" })).toMatchObject({
      credential: "fc_cfg",
      credentialSetting: "flightcontrol:apiKey",
      baseUrl: "http://127.0.0.1:9/flightcontrol",
    });
  });

  it("DYPAI: stack config first, then DYPAI_* variables; no default address", () => {
    expect(dypaiSettings({ DYPAI_TOKEN: "t1", DYPAI_BASE_URL: "https://dypai.example.com" })).toEqual({
      platform: "dypai",
      credential: "t1",
      credentialSetting: "DYPAI_TOKEN",
      baseUrl: "https://dypai.example.com",
    });
    configure(config({ "dypai:token": "t2", "dypai:baseUrl": "http://localhost:8/dypai" }));
    expect(dypaiSettings({ DYPAI_TOKEN: "t1" })).toMatchObject({
      credential: "t2",
      baseUrl: "http://localhost:8/dypai",
    });
    resetConfiguration();
    expect(() => dypaiSettings({ DYPAI_TOKEN: "t1" })).toThrow(/dypai:baseUrl.*DYPAI_BASE_URL/);
  });

  it("fails clearly without a credential, before any call", () => {
    expect(() => flightcontrolSettings({})).toThrow(ConfigurationError);
    expect(() => flightcontrolSettings({})).toThrow(/--secret flightcontrol:apiKey.*FLIGHTCONTROL_API_KEY/);
    expect(() => dypaiSettings({ DYPAI_BASE_URL: "https://x" })).toThrow(/--secret dypai:token.*DYPAI_TOKEN/);
  });

  it("refuses plain http except to loopback, unless opted in", () => {
    expect(() =>
      flightcontrolSettings({ FLIGHTCONTROL_API_KEY: "k", FLIGHTCONTROL_BASE_URL: "http://fc.example.com" }),
    ).toThrow(/flightcontrol:allowInsecureHttp/);
    expect(
      flightcontrolSettings({
        FLIGHTCONTROL_API_KEY: "k",
        FLIGHTCONTROL_BASE_URL: "http://fc.example.com",
        FLIGHTCONTROL_ALLOW_INSECURE_HTTP: "true",
      }).baseUrl,
    ).toBe("http://fc.example.com");
    expect(() => dypaiSettings({ DYPAI_TOKEN: "t", DYPAI_BASE_URL: "http://dypai.example.com" })).toThrow(
      /dypai:allowInsecureHttp/,
    );
    expect(dypaiSettings({ DYPAI_TOKEN: "t", DYPAI_BASE_URL: "http://[::1]:3000" }).baseUrl).toBe(
      "http://[::1]:3000",
    );
  });
});

describe("clients on the shared HttpClient", () => {
  let server: http.Server;
  let base: string;
  const seen: Array<{ method?: string; url?: string; authorization?: string; body: string }> = [];
  let reply: (req: http.IncomingMessage, body: string) => { status: number; body: unknown } = () => ({
    status: 200,
    body: {},
  });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization, body });
        const r = reply(req, body);
        res.writeHead(r.status, { "content-type": "application/json", "x-request-id": "req_test" });
        res.end(JSON.stringify(r.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const fc = (key = "fc_key_123456") =>
    flightcontrolClient(
      { retry: { maxRetries: 0 } },
      { platform: "flightcontrol", baseUrl: `${base}/fc`, credential: key },
    );
  const dy = () =>
    dypaiClient(
      { retry: { maxRetries: 0 } },
      { platform: "dypai", baseUrl: `${base}/dy`, credential: "dypai_tok_1" },
    );

  it("Flightcontrol sends the documented `Authorization: Bearer: <key>` and reads 200 and 202 answers", async () => {
    seen.length = 0;
    reply = () => ({
      status: 202,
      body: { status: "processing", runId: "run-1", savedCount: 1, processingCount: 2 },
    });
    const res = await fc().saveEnvVariables("svc 1", { plainText: { A: "1" } }, []);
    expect(res).toEqual({ status: "processing", runId: "run-1", savedCount: 1, processingCount: 2 });
    expect(seen[0]).toMatchObject({
      method: "POST",
      url: "/fc/v1/services/svc%201/env-variables",
      authorization: "Bearer: fc_key_123456",
    });
    expect(JSON.parse(seen[0].body)).toEqual({ plainText: { A: "1" } });
    reply = () => ({ status: 200, body: { status: "completed", savedCount: 3 } });
    expect(await fc().saveEnvVariables("s", {}, [])).toEqual({ status: "completed", savedCount: 3 });
    reply = () => ({ status: 202, body: { status: "processing" } });
    expect(await thrown(() => fc().saveEnvVariables("s", {}, []))).toBeInstanceOf(TransportError);
  });

  it("errors carry the platform and mask secret values and the key, even when the API echoes them", async () => {
    reply = (_req, body) => ({ status: 400, body: { message: `bad request: ${body} with fc_key_123456` } });
    const err = await thrown(() =>
      fc().saveEnvVariables("s", { parameterStore: { DB_PASSWORD: "hunter2-secret" } }, ["hunter2-secret"]),
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as unknown as ApiError).platform).toBe("flightcontrol");
    expect(err.message).toMatch(/^flightcontrol: POST \/v1\/services\/s\/env-variables returned 400/);
    expect(err.message).not.toContain("hunter2-secret");
    expect(err.message).not.toContain("fc_key_123456");

    reply = (_req, body) => ({ status: 500, body: { message: `boom ${body}` } });
    const derr = await thrown(() => dy().putSecret("e", "N", "whsec_value_1"));
    expect((derr as unknown as ApiError).platform).toBe("dypai");
    expect(derr.message).not.toContain("whsec_value_1");
  });

  it("DYPAI: Bearer token; PUT body {value}; DELETE carries the version precondition; 404 and 409 are answers", async () => {
    seen.length = 0;
    reply = () => ({ status: 201, body: { name: "N", version: 3 } });
    expect(await dy().putSecret("e1", "N", "v-1234")).toEqual({ name: "N", version: 3 });
    expect(seen[0]).toMatchObject({
      method: "PUT",
      url: "/dy/api/engine/e1/secrets/N",
      authorization: "Bearer dypai_tok_1",
    });
    expect(JSON.parse(seen[0].body)).toEqual({ value: "v-1234" });
    reply = () => ({ status: 404, body: { error: { code: "not_found" } } });
    expect(await thrown(() => dy().getSecret("e1", "N"))).toBeInstanceOf(NotFoundError);
    expect(await dy().deleteSecret("e1", "N", 3)).toBe("gone");
    expect(seen.at(-1)?.url).toBe("/dy/api/engine/e1/secrets/N?version=3");
    reply = () => ({ status: 409, body: { error: { code: "version_mismatch" } } });
    expect(await dy().deleteSecret("e1", "N", 3)).toBe("version_mismatch");
    reply = () => ({ status: 200, body: { name: "N" } });
    expect(await thrown(() => dy().getSecret("e1", "N"))).toBeInstanceOf(TransportError);
  });
});

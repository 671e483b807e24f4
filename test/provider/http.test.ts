import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HttpClient, parseRetryAfter } from "../../provider/http";
import {
  ApiError,
  NotFoundError,
  RateLimitedError,
  ServerError,
  TransportError,
  ValidationError,
} from "../../provider/errors";

// A scripted server: each request takes the next planned answer for its path.
type Plan = {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  destroy?: boolean;
  raw?: string;
};
let plans: Plan[] = [];
let seen: Array<{ method: string; url: string; auth?: string; body: string }> = [];
let server: http.Server;
let baseUrl: string;
const TOKEN = "dyn_pat_" + "T".repeat(64);

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
      const p = plans.shift() ?? { status: 200, body: { data: { ok: true } } };
      if (p.destroy) return req.socket.destroy();
      res.writeHead(p.status, {
        "content-type": "application/json",
        "x-request-id": `req_${seen.length}`,
        ...p.headers,
      });
      res.end(p.raw ?? (p.body === undefined ? "" : JSON.stringify(p.body)));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  plans = [];
  seen = [];
});

function client(retries = 3) {
  const retriesSeen: string[] = [];
  const c = new HttpClient({
    platform: "dynamiq",
    baseUrl,
    headers: () => ({ authorization: `Bearer ${TOKEN}` }),
    secrets: () => [TOKEN],
    retry: { maxRetries: retries, baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 2_000 },
    timeoutMs: 2_000,
    onRetry: (i) => retriesSeen.push(i.reason),
  });
  return { c, retriesSeen };
}

describe("HttpClient", () => {
  it("sends the bearer credential and JSON body and returns the parsed body with the request id", async () => {
    plans = [{ status: 200, body: { data: { id: "x" } } }];
    const res = await client().c.request({
      method: "POST",
      path: "/v1/things",
      body: { a: 1 },
      query: { page: 2 },
    });
    expect(res.body).toEqual({ data: { id: "x" } });
    expect(res.requestId).toBe("req_1");
    expect(seen[0]).toMatchObject({
      method: "POST",
      url: "/v1/things?page=2",
      auth: `Bearer ${TOKEN}`,
      body: '{"a":1}',
    });
  });

  it("maps statuses to the error hierarchy with platform, method, path, status, request id and the API's message", async () => {
    plans = [
      {
        status: 400,
        body: { error: { code: "project_not_found", message: "project does not belong to org" } },
      },
    ];
    const err = await client()
      .c.request({ method: "POST", path: "/v1/access-keys", body: {} })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({
      platform: "dynamiq",
      method: "POST",
      path: "/v1/access-keys",
      status: 400,
      requestId: "req_1",
      apiCode: "project_not_found",
    });
    expect(err.message).toBe(
      "dynamiq: POST /v1/access-keys returned 400 project_not_found: project does not belong to org [request id req_1]",
    );
    plans = [{ status: 404, body: { error: { code: "not_found", message: "no such key" } } }];
    const nf = await client()
      .c.request({ method: "GET", path: "/v1/access-keys/1" })
      .catch((e) => e);
    expect(nf).toBeInstanceOf(NotFoundError);
    expect((nf as ApiError).isGone).toBe(true);
  });

  it("retries GET on 503 with backoff and succeeds", async () => {
    plans = [{ status: 503 }, { status: 502 }, { status: 200, body: { data: 1 } }];
    const { c, retriesSeen } = client();
    const res = await c.request({ method: "GET", path: "/v1/x" });
    expect(res.body).toEqual({ data: 1 });
    expect(seen).toHaveLength(3);
    expect(retriesSeen).toEqual(["status 503", "status 502"]);
  });

  it("never retries a POST on a gateway error or a reset: the change may have been made", async () => {
    plans = [{ status: 503 }];
    await expect(
      client().c.request({ method: "POST", path: "/v1/access-keys", body: {} }),
    ).rejects.toBeInstanceOf(ServerError);
    expect(seen).toHaveLength(1);
    plans = [{ status: 0, destroy: true }];
    seen = [];
    await expect(
      client().c.request({ method: "POST", path: "/v1/access-keys", body: {} }),
    ).rejects.toBeInstanceOf(TransportError);
    expect(seen).toHaveLength(1);
  });

  it("retries a reset connection for idempotent requests", async () => {
    plans = [
      { status: 0, destroy: true },
      { status: 200, body: { data: 2 } },
    ];
    const res = await client().c.request({ method: "DELETE", path: "/v1/x" });
    expect(res.body).toEqual({ data: 2 });
    expect(seen).toHaveLength(2);
  });

  it("honours Retry-After on 429, for creates too, and gives up beyond the cap", async () => {
    plans = [
      { status: 429, headers: { "retry-after": "0.05" } },
      { status: 200, body: { data: 3 } },
    ];
    const t0 = Date.now();
    const res = await client().c.request({ method: "POST", path: "/v1/x", body: {} });
    expect(res.body).toEqual({ data: 3 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    plans = [{ status: 429, headers: { "retry-after": "3600" } }];
    seen = [];
    const err = await client()
      .c.request({ method: "GET", path: "/v1/x" })
      .catch((e) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(seen).toHaveLength(1);
  });

  it("bounds retries by count", async () => {
    plans = [{ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }];
    await expect(client(2).c.request({ method: "GET", path: "/v1/x" })).rejects.toBeInstanceOf(ServerError);
    expect(seen).toHaveLength(3);
  });

  it("never puts the credential or request secrets into an error message", async () => {
    const secret = "sk-very-secret-value-123";
    plans = [
      {
        status: 400,
        body: {
          error: {
            code: "bad_request",
            message: `bad token ${TOKEN} and value ${secret}`,
            details: { echo: secret },
          },
        },
      },
    ];
    const err = await client()
      .c.request({ method: "POST", path: "/v1/x", body: { v: secret }, secrets: [secret] })
      .catch((e) => e);
    expect(err.message).not.toContain(TOKEN);
    expect(err.message).not.toContain(secret);
    expect(JSON.stringify(err.details)).not.toContain(secret);
    expect(err.message).toContain("[redacted]");
  });

  it("reports a non-JSON success body as a bad response", async () => {
    plans = [{ status: 200, raw: "{not json" }];
    const err = await client()
      .c.request({ method: "GET", path: "/v1/x" })
      .catch((e) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe("bad_response");
  });

  it("treats accepted statuses as answers", async () => {
    plans = [{ status: 404, body: { error: { code: "not_found" } } }];
    const res = await client().c.request({ method: "DELETE", path: "/v1/x", accept: [404] });
    expect(res.status).toBe(404);
  });

  it("parses Retry-After seconds and dates", () => {
    expect(parseRetryAfter("2")).toBe(2000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter("soon")).toBeUndefined();
  });
});

// The emulator under malformed and hostile requests, property-based (fast-check): arbitrary bodies, bytes that
// are not UTF-8, odd unicode, huge bodies and path tricks on every route get a clear 4xx (or a 2xx when the input
// happens to be valid), never a 5xx, never a crash, and never an echo of what was sent.
import * as http from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../emulator/server";

let emu: Emulator;
const logs: string[] = [];
let routes: Array<{ method: string; path: string; admin: boolean }>;

interface Answer {
  status: number;
  text: string;
}

function raw(
  method: string,
  path: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const url = new URL(emu.baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        agent: false,
        headers: { ...(body ? { "content-length": String(body.length) } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

/** A concrete path for a route template, with the seeded ids. */
function concrete(template: string): string {
  return template
    .replace(":serviceId", emu.flightcontrol.serviceId)
    .replace(/\/dypai\/api\/engine\/:id/, `/dypai/api/engine/${emu.dypai.engineId}`)
    .replace(/\/v1\/services\/:id/, `/v1/services/${emu.dynamiq.serviceId}`)
    .replace(/\/apps\/:service_id/, `/apps/${emu.dynamiq.serviceId}`)
    .replace(/:[a-z_]+/g, "x1");
}

function authFor(path: string): Record<string, string> {
  if (path.startsWith("/flightcontrol")) return { authorization: `Bearer: ${emu.flightcontrol.apiKey}` };
  if (path.startsWith("/dypai")) return { authorization: `Bearer ${emu.dypai.token}` };
  return { authorization: `Bearer ${emu.dynamiq.userPat}` };
}

function expectClear(a: Answer, what: string): void {
  expect(a.status, `${what}: ${a.text.slice(0, 200)}`).toBeGreaterThanOrEqual(200);
  expect(a.status, `${what}: ${a.text.slice(0, 200)}`).toBeLessThan(500);
  if (a.status >= 400) {
    const body = JSON.parse(a.text) as { error?: { code?: unknown; message?: unknown } };
    expect(typeof body.error?.code, what).toBe("string");
    expect(typeof body.error?.message, what).toBe("string");
  }
}

beforeAll(async () => {
  emu = await startEmulator({ port: 0, log: (l) => logs.push(l) });
  const res = await fetch(`${emu.baseUrl}/_admin/routes`);
  routes = ((await res.json()) as { routes: typeof routes }).routes.filter((r) => !r.admin);
});

afterAll(async () => {
  await emu?.close();
  expect(logs.filter((l) => l.startsWith("internal error"))).toEqual([]);
});

const writeRoutes = () => routes.filter((r) => r.method === "POST" || r.method === "PUT");

describe("hostile requests (property-based)", () => {
  it("arbitrary JSON values on every write route: a clear answer below 500, the body never echoed", async () => {
    const marker = "zz-echo-marker-91";
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...writeRoutes()),
        fc.jsonValue({ maxDepth: 3 }),
        async (route, value) => {
          const path = concrete(route.path);
          const body = Buffer.from(JSON.stringify({ v: value, name: marker, value: marker }));
          const a = await raw(route.method, path, body, {
            ...authFor(path),
            "content-type": "application/json",
          });
          expectClear(a, `${route.method} ${route.path}`);
          if (a.status >= 400) expect(a.text).not.toContain(marker);
        },
      ),
      { numRuns: 150, seed: 5 },
    );
  });

  it("bytes that are not JSON or not UTF-8: 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...writeRoutes()),
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        async (route, bytes) => {
          const path = concrete(route.path);
          const a = await raw(route.method, path, Buffer.from([0xff, 0xfe, ...bytes]), {
            ...authFor(path),
            "content-type": "application/json",
          });
          expectClear(a, `${route.method} ${route.path}`);
          expect(a.status).toBeGreaterThanOrEqual(400);
        },
      ),
      { numRuns: 100, seed: 6 },
    );
  });

  it("odd unicode in names and values of creates: a clear answer below 500", async () => {
    const creates = [
      { path: "/v1/access-keys", body: (s: string) => ({ name: s, org_id: emu.dynamiq.orgId }) },
      { path: "/v1/personal-access-tokens", body: (s: string) => ({ name: s }) },
      {
        path: "/v1/connections",
        body: (s: string) => ({
          name: s,
          project_id: emu.dynamiq.projectId,
          type: "dynamiq.connections.OpenAI",
          config: { api_key: s },
        }),
      },
      {
        path: `/v1/services/${emu.dynamiq.serviceId}/deploy`,
        body: (s: string) => ({ image: s, env: [{ name: s, value: s }] }),
      },
    ];
    const odd = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 40 }),
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.constantFrom("\u202e", "\ufeff", "a\u0000b", "\ud800", "\udc00x", "e\u0301", "🏳️‍🌈", "x".repeat(5000)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...creates), odd, async (c, s) => {
        const a = await raw("POST", c.path, Buffer.from(JSON.stringify(c.body(s))), {
          ...authFor(c.path),
          "content-type": "application/json",
        });
        expectClear(a, `POST ${c.path}`);
      }),
      { numRuns: 150, seed: 7 },
    );
  });

  it("path tricks: traversal, encoded separators, NUL, unicode, long paths: a clear 4xx, never the admin surface", async () => {
    const segment = fc.oneof(
      fc.constantFrom(
        "..",
        "%2e%2e",
        "%2f",
        "%00",
        "%ff",
        "%",
        "_admin",
        "%5fadmin",
        "..%2f_admin",
        "%c0%af",
        "~",
        "v1",
        "x".repeat(3000),
      ),
      fc.webSegment(),
      fc.string({ unit: "grapheme-ascii", maxLength: 12 }).map(encodeURIComponent),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"),
        fc.array(segment, { minLength: 1, maxLength: 6 }),
        async (method, segments) => {
          const path = "/" + segments.join("/");
          const a = await raw(method, path, undefined, authFor(path));
          expectClear(a, `${method} ${path.slice(0, 80)}`);
          expect(a.text).not.toContain(emu.dynamiq.userPat);
        },
      ),
      { numRuns: 200, seed: 8 },
    );
  });

  it("huge bodies: 413 on every write route, and the server keeps answering", async () => {
    for (const route of writeRoutes()) {
      const path = concrete(route.path);
      const a = await raw(route.method, path, Buffer.alloc(1024 * 1024 + 10, 0x61), {
        ...authFor(path),
        "content-type": "application/json",
      });
      expect([401, 413], `${route.method} ${route.path} ${a.status}`).toContain(a.status);
    }
    const alive = await raw("GET", `/v1/access-keys?org_id=${emu.dynamiq.orgId}`, undefined, authFor("/v1"));
    expect(alive.status).toBe(200);
  });
});

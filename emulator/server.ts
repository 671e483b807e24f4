import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";

import { emptyCounters, type EmulatorContext } from "./context";
import {
  HttpError,
  Router,
  errorBody,
  parseJsonObject,
  readBody,
  type Reply,
  type RequestContext,
  type Route,
} from "./http";
import { FaultTable, faultError, faultRoutes, withoutField } from "./faults";
import { adminRoutes, companionSeeds, dynamiqSeed } from "./routes/admin";
import { connectionRoutes } from "./routes/dynamiq-connections";
import { credentialRoutes } from "./routes/dynamiq-credentials";
import { resumeDeployments, serviceRoutes } from "./routes/dynamiq-services";
import { DYPAI_PREFIX, dypaiAdminRoutes, dypaiRoutes } from "./routes/dypai";
import {
  FLIGHTCONTROL_PREFIX,
  flightcontrolAdminRoutes,
  flightcontrolRoutes,
  resumeFlightcontrolRuns,
} from "./routes/flightcontrol";
import { ACCESS_KEY_PREFIX, LEGACY_PAT_PREFIX, PAT_PREFIX, newRequestId } from "./secrets";
import { Store } from "./store";

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /** Port to listen on; 0 (the default) picks a free port. */
  port?: number;
  /** Interface to bind; default 127.0.0.1. The admin surface only answers loopback clients whatever this is. */
  host?: string;
  /** JSON file the state is persisted to (atomically, after every change) and loaded from at start. */
  statePath?: string;
  /** Receives one line per request (no secrets, no bodies, no query strings). Default: stderr. */
  log?: (line: string) => void;
  /**
   * Added before answering every non-admin request, in milliseconds (default 0): a stand-in for the round trip
   * to a real region, used by the benchmarks in `bench/`.
   */
  latencyMs?: number;
}

/** What the seed holds for Dynamiq: everything a test or the demo needs to start calling the API. */
export interface DynamiqSeed {
  /** Base URL of the Dynamiq management API (`${baseUrl}/v1/...`). */
  baseUrl: string;
  /** Org A: the seeded user is a member. */
  orgId: string;
  /** Project A in org A. */
  projectId: string;
  /** The bootstrap Personal Access Token (`dyn_pat_...`) of the seeded user. */
  userPat: string;
  /** A service in project A, ready to deploy. */
  serviceId: string;
  /** Org B: the seeded user is NOT a member (for 403 tests). */
  otherOrgId: string;
  /** Project B in org B. */
  otherProjectId: string;
}

/** The Flightcontrol seed: an API key and one service. */
export interface FlightcontrolSeed {
  /** Base URL of the Flightcontrol API (`${baseUrl}/v1/...`): `${emulator}/flightcontrol`. */
  baseUrl: string;
  /** The account's API key (`Authorization: Bearer: <key>`). */
  apiKey: string;
  /** A service with no variables yet. */
  serviceId: string;
}

/** The DYPAI seed: a token and one engine of one project (with its own Fernet key). */
export interface DypaiSeed {
  /** Base URL of the DYPAI API (`${baseUrl}/api/engine/...`): `${emulator}/dypai`. */
  baseUrl: string;
  /** The bearer token. */
  token: string;
  /** An engine with no secrets yet. */
  engineId: string;
}

/** A running emulator. */
export interface Emulator {
  /** `http://host:port` of the server (the admin surface lives at `${baseUrl}/_admin/...`). */
  baseUrl: string;
  dynamiq: DynamiqSeed;
  flightcontrol: FlightcontrolSeed;
  dypai: DypaiSeed;
  /** Stops the server, drops open connections and pending timers. */
  close(): Promise<void>;
}

const LOG_REDACT = new RegExp(`(${PAT_PREFIX}|${LEGACY_PAT_PREFIX}|${ACCESS_KEY_PREFIX})[A-Za-z0-9]+`, "g");

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

function isAdminPath(path: string): boolean {
  return path === "/_admin" || path.startsWith("/_admin/");
}

/**
 * Builds the route table: Dynamiq at the root (management API + deployed endpoint), Flightcontrol under
 * `/flightcontrol`, DYPAI under `/dypai`, admin under `/_admin`.
 */
function buildRouter(emu: EmulatorContext): Router {
  const router = new Router();
  router.mount("/", faultRoutes(emu.faults));
  router.mount("/", connectionRoutes(emu));
  router.mount("/", credentialRoutes(emu));
  router.mount("/", serviceRoutes(emu));
  router.mount(FLIGHTCONTROL_PREFIX, flightcontrolRoutes(emu));
  router.mount(DYPAI_PREFIX, dypaiRoutes(emu));
  router.mount("/", adminRoutes(emu));
  router.mount("/", flightcontrolAdminRoutes(emu));
  router.mount("/", dypaiAdminRoutes(emu));
  const listRoute: Route = {
    method: "GET",
    path: "/_admin/routes",
    admin: true,
    handler: () => ({ status: 200, body: { routes: router.list() } }),
  };
  router.add(listRoute);
  return router;
}

function send(res: http.ServerResponse, requestId: string, reply: Reply): void {
  const headers: Record<string, string | number> = { "x-request-id": requestId, ...reply.headers };
  if (reply.body === undefined || reply.status === 204) {
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(reply.body);
  headers["content-type"] = "application/json; charset=utf-8";
  headers["content-length"] = Buffer.byteLength(text);
  res.writeHead(reply.status, headers);
  res.end(text);
}

/** Starts the emulator on loopback. Resolves once it listens. */
export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log ?? ((line: string) => void process.stderr.write(line + "\n"));
  const store = Store.open(opts.statePath);

  const timers = new Set<NodeJS.Timeout>();
  const emu: EmulatorContext = {
    store,
    baseUrl: "",
    timers,
    counters: emptyCounters(),
    faults: new FaultTable(),
    later(ms, fn) {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    },
    clearTimers() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
  const router = buildRouter(emu);

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = newRequestId();
    const method = (req.method ?? "GET").toUpperCase();
    let logPath = "-";
    let status = 0;
    res.on("error", () => undefined);
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? "/", "http://emulator.invalid");
      } catch {
        throw new HttpError(400, "bad_request", "malformed request target");
      }
      const path = url.pathname;
      logPath = path.replace(LOG_REDACT, "$1<redacted>");
      const admin = isAdminPath(path);
      if (!admin) emu.counters.total += 1;
      const body = await readBody(req);
      const match = router.match(method, path);
      if (!admin) {
        const key = match.kind === "found" ? `${method} ${match.route.path}` : `${method} (unmatched)`;
        emu.counters.routes[key] = (emu.counters.routes[key] ?? 0) + 1;
      }
      if (!body.ok) {
        if (body.reason === "aborted") {
          status = 499;
          res.destroy();
          return;
        }
        throw new HttpError(413, "payload_too_large", "request body exceeds the 1 MiB limit", {
          limit_bytes: 1024 * 1024,
        });
      }
      if (match.kind === "not_found")
        throw new HttpError(404, "not_found", `no route for ${method} ${logPath}`);
      if (match.kind === "method_not_allowed") {
        throw new HttpError(
          405,
          "method_not_allowed",
          `method ${method} is not allowed here; allowed: ${match.allowed.join(", ")}`,
          { allowed: match.allowed },
          { allow: match.allowed.join(", ") },
        );
      }
      if (match.route.admin && !isLoopback(req.socket.remoteAddress)) {
        throw new HttpError(403, "forbidden", "the admin surface only answers loopback clients");
      }
      const contentType = req.headers["content-type"];
      const ctx: RequestContext = {
        method,
        path,
        query: url.searchParams,
        params: match.params,
        headers: req.headers,
        rawBody: body.body,
        requestId,
        remoteAddress: req.socket.remoteAddress ?? "",
        route: match.route.path,
        json: () => parseJsonObject(body.body, contentType, false),
        jsonOrEmpty: () => parseJsonObject(body.body, contentType, true),
      };
      if (!admin && opts.latencyMs) await new Promise((r) => emu.later(opts.latencyMs!, () => r(undefined)));
      const fault = admin ? undefined : emu.faults.take(method, match.route.path);
      const pause = (ms: number) => new Promise<void>((resolve) => emu.later(ms, resolve));
      if (fault?.kind === "latency" && !fault.after) await pause(fault.ms ?? 0);
      if (fault?.kind === "status") throw faultError(fault);
      if (fault?.kind === "reset") {
        logPath += " [fault reset]";
        res.destroy();
        return;
      }
      let reply = await match.route.handler(ctx);
      status = reply.status;
      if (fault) logPath += ` [fault ${fault.kind}]`;
      switch (fault?.kind) {
        case "latency":
          if (fault.after) await pause(fault.ms ?? 0);
          break;
        case "commit_drop":
          res.destroy();
          return;
        case "truncated": {
          const text = JSON.stringify(reply.body ?? {});
          res.writeHead(reply.status, {
            "x-request-id": requestId,
            "content-type": "application/json; charset=utf-8",
            "content-length": Buffer.byteLength(text),
          });
          res.write(text.slice(0, Math.floor(text.length / 2)));
          setImmediate(() => res.destroy());
          return;
        }
        case "malformed":
          res.writeHead(reply.status === 204 ? 200 : reply.status, {
            "x-request-id": requestId,
            "content-type": "application/json; charset=utf-8",
          });
          res.end('{"data": {"id": <html>');
          return;
        case "missing_field":
          reply = { ...reply, body: withoutField(reply.body, fault.field ?? "id") };
          break;
      }
      send(res, requestId, reply);
    } catch (err) {
      const httpErr =
        err instanceof HttpError ? err : new HttpError(500, "internal_error", "internal emulator error");
      if (!(err instanceof HttpError)) {
        // Only the error's class and stack location: messages of foreign errors are not trusted to be secret-free.
        const where = err instanceof Error ? (err.stack?.split("\n")[1]?.trim() ?? "") : "";
        log(`internal error ${requestId}: ${err instanceof Error ? err.name : typeof err} ${where}`);
      }
      status = httpErr.status;
      if (!res.headersSent) {
        send(res, requestId, {
          status: httpErr.status,
          body: errorBody(httpErr, requestId),
          headers: httpErr.headers,
        });
      } else {
        res.destroy();
      }
    } finally {
      const ms = (performance.now() - started).toFixed(1);
      log(`${method} ${logPath} ${status} ${requestId} ${ms}ms`);
    }
  }

  const server = http.createServer((req, res) => void handle(req, res));
  server.on("connection", (socket) => {
    emu.counters.connections += 1;
    socket.on("error", () => undefined);
  });
  server.on("clientError", (_err, socket) => {
    if (socket.writable) {
      const requestId = newRequestId();
      const body = JSON.stringify(
        errorBody(new HttpError(400, "bad_request", "malformed HTTP request"), requestId),
      );
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nX-Request-Id: ${requestId}\r\n` +
          `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      log(`- (malformed request) 400 ${requestId} 0.0ms`);
    } else {
      socket.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost =
    address.family === "IPv6" || address.address.includes(":") ? `[${address.address}]` : address.address;
  emu.baseUrl = `http://${urlHost}:${address.port}`;
  resumeDeployments(emu);
  resumeFlightcontrolRuns(emu);

  let closing: Promise<void> | undefined;
  return {
    baseUrl: emu.baseUrl,
    dynamiq: dynamiqSeed(emu.baseUrl, store),
    ...companionSeeds(emu.baseUrl, store),
    close() {
      closing ??= new Promise<void>((resolve) => {
        emu.clearTimers();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

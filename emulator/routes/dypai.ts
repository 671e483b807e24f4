// DYPAI backend secrets (dypai-backend-secrets.txt), mounted under `/dypai`. The document names the endpoint
// `/api/engine/{id}/secrets` and the rules (named, Fernet-encrypted with a per-project key, write-only: overwrite
// or delete, never read back); the request and response shapes are not public and are the emulator's design,
// marked assumed in emulator/README.md. No API route ever returns a value; the admin surface decrypts for tests.
import { randomUUID } from "node:crypto";

import { newFernetKey, type DypaiEngineRecord, type DypaiSecretRecord } from "../companions";
import type { EmulatorContext } from "../context";
import { HttpError, validationError, type RequestContext, type Route } from "../http";
import { fingerprint } from "../secrets";
import { isoTime } from "../store";

/** The path prefix DYPAI routes are mounted under. */
export const DYPAI_PREFIX = "/dypai";

/** Secret names (assumed): usable in `${ secrets.NAME }`, so an identifier of at most 128 characters. */
export const DYPAI_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** Largest value accepted (assumed). */
export const DYPAI_MAX_VALUE = 64 * 1024;

interface FernetModule {
  Secret: new (key: string) => unknown;
  Token: new (opts: { secret: unknown; token?: string; ttl?: number }) => {
    encode(message: string): string;
    decode(): string;
  };
}

// `fernet` ships no types; only the two classes above are used.
function fernet(): FernetModule {
  return require("fernet") as FernetModule;
}

export function fernetEncrypt(key: string, plaintext: string): string {
  const f = fernet();
  return new f.Token({ secret: new f.Secret(key), ttl: 0 }).encode(plaintext);
}

export function fernetDecrypt(key: string, token: string): string {
  const f = fernet();
  return new f.Token({ secret: new f.Secret(key), token, ttl: 0 }).decode();
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, "unauthorized", message, {}, { "www-authenticate": "Bearer" });
}

export function requireDypaiToken(ctx: RequestContext, emu: EmulatorContext): void {
  const header = ctx.headers.authorization;
  if (header === undefined || header.trim() === "") throw unauthorized("missing Authorization header");
  const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
  if (!m) throw unauthorized("malformed Authorization header: expected 'Bearer <token>'");
  if (fingerprint(m[1]) !== fingerprint(emu.store.companions.dypai_token_emulator_fixture)) {
    throw unauthorized("invalid token");
  }
}

function engineOf(emu: EmulatorContext, id: string): DypaiEngineRecord {
  const e = emu.store.dypai.engines.find((x) => x.id === id);
  if (!e) throw new HttpError(404, "not_found", "engine not found");
  return e;
}

function keyOf(emu: EmulatorContext, engine: DypaiEngineRecord): string {
  const p = emu.store.dypai.projects.find((x) => x.id === engine.project_id);
  if (!p) throw new HttpError(500, "internal_error", "engine without project");
  return p.fernet_key;
}

function secretOf(emu: EmulatorContext, engineId: string, name: string): DypaiSecretRecord | undefined {
  return emu.store.dypai.secrets.find((s) => s.engine_id === engineId && s.name === name);
}

/** What the API shows of a secret: metadata, never the value (assumed shape). */
function present(s: DypaiSecretRecord): Record<string, unknown> {
  return { name: s.name, version: s.version, created_at: s.created_at, updated_at: s.updated_at };
}

/** Writes (creates or overwrites) a secret; every write takes a new, never reused version. */
function write(emu: EmulatorContext, engine: DypaiEngineRecord, name: string, value: string) {
  const { store } = emu;
  const ciphertext = fernetEncrypt(keyOf(emu, engine), value);
  const existing = secretOf(emu, engine.id, name);
  const now = Date.now();
  if (existing) {
    const prev = Date.parse(existing.updated_at);
    existing.ciphertext = ciphertext;
    existing.version = store.nextSeq();
    existing.updated_at = isoTime(Number.isNaN(prev) || now > prev ? now : prev + 1);
    store.commit();
    return { created: false, secret: existing };
  }
  const secret: DypaiSecretRecord = {
    engine_id: engine.id,
    name,
    ciphertext,
    version: store.nextSeq(),
    created_at: isoTime(now),
    updated_at: isoTime(now),
  };
  store.dypai.secrets.push(secret);
  store.commit();
  return { created: true, secret };
}

function checkName(name: string): void {
  if (!DYPAI_NAME_PATTERN.test(name)) {
    throw validationError([
      {
        field: "name",
        message: "name must be 1..128 letters, digits or _, not starting with a digit",
      },
    ]);
  }
}

function remove(emu: EmulatorContext, s: DypaiSecretRecord): void {
  const list = emu.store.dypai.secrets;
  list.splice(list.indexOf(s), 1);
  emu.store.commit();
}

/** The DYPAI API; mount under {@link DYPAI_PREFIX}. */
export function dypaiRoutes(emu: EmulatorContext): Route[] {
  const { store } = emu;
  return [
    {
      method: "GET",
      path: "/api/engine/:id/secrets",
      handler: (ctx) => {
        requireDypaiToken(ctx, emu);
        const engine = engineOf(emu, ctx.params.id);
        const secrets = store.dypai.secrets
          .filter((s) => s.engine_id === engine.id)
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          .map(present);
        return { status: 200, body: { secrets } };
      },
    },
    {
      method: "GET",
      path: "/api/engine/:id/secrets/:name",
      handler: (ctx) => {
        requireDypaiToken(ctx, emu);
        const engine = engineOf(emu, ctx.params.id);
        const s = secretOf(emu, engine.id, ctx.params.name);
        if (!s) throw new HttpError(404, "not_found", "secret not found");
        return { status: 200, body: present(s) };
      },
    },
    {
      method: "PUT",
      path: "/api/engine/:id/secrets/:name",
      handler: (ctx) => {
        requireDypaiToken(ctx, emu);
        const engine = engineOf(emu, ctx.params.id);
        const name = ctx.params.name;
        checkName(name);
        const body = ctx.json();
        // The value is never quoted in a message.
        if (typeof body.value !== "string" || body.value === "") {
          throw validationError([
            { field: "value", message: "value is required and must be a non-empty string" },
          ]);
        }
        if (body.value.length > DYPAI_MAX_VALUE) {
          throw validationError([
            { field: "value", message: `value must be at most ${DYPAI_MAX_VALUE} characters` },
          ]);
        }
        const { created, secret } = write(emu, engine, name, body.value);
        return { status: created ? 201 : 200, body: present(secret) };
      },
    },
    {
      method: "DELETE",
      path: "/api/engine/:id/secrets/:name",
      handler: (ctx) => {
        requireDypaiToken(ctx, emu);
        const engine = engineOf(emu, ctx.params.id);
        const s = secretOf(emu, engine.id, ctx.params.name);
        if (!s) throw new HttpError(404, "not_found", "secret not found");
        const expected = ctx.query.get("version");
        if (expected !== null) {
          if (!/^\d+$/.test(expected)) {
            throw validationError([{ field: "version", message: "version must be a non-negative integer" }]);
          }
          if (Number(expected) !== s.version) {
            throw new HttpError(409, "version_mismatch", "the secret was written since that version", {
              version: s.version,
            });
          }
        }
        remove(emu, s);
        return { status: 204 };
      },
    },
  ];
}

function bad(field: string, message: string): HttpError {
  return validationError([{ field, message }]);
}

/** `/_admin/dypai/...`: loopback only, not counted. */
export function dypaiAdminRoutes(emu: EmulatorContext): Route[] {
  const { store } = emu;
  const route = (method: string, path: string, handler: (ctx: RequestContext) => unknown): Route => ({
    method,
    path: `/_admin/dypai${path}`,
    admin: true,
    handler: (ctx) => ({ status: 200, body: handler(ctx) }),
  });
  return [
    route("POST", "/engines", (ctx) => {
      const body = ctx.jsonOrEmpty();
      if (body.name !== undefined && typeof body.name !== "string")
        throw bad("name", "name must be a string");
      if (body.newProject !== undefined && typeof body.newProject !== "boolean") {
        throw bad("newProject", "newProject must be a boolean");
      }
      let projectId = store.companions.dypaiProjectId;
      if (body.newProject === true) {
        projectId = randomUUID();
        store.dypai.projects.push({
          id: projectId,
          name: `project-${projectId.slice(0, 8)}`,
          fernet_key: newFernetKey(),
        });
      }
      const engine: DypaiEngineRecord = {
        id: randomUUID(),
        project_id: projectId,
        name: (body.name as string | undefined) ?? "engine",
        created_at: isoTime(),
      };
      store.dypai.engines.push(engine);
      store.commit();
      return { id: engine.id, project_id: projectId, name: engine.name };
    }),
    route("GET", "/engines/:id/secrets", (ctx) => {
      const engine = engineOf(emu, ctx.params.id);
      const key = keyOf(emu, engine);
      const secrets = Object.fromEntries(
        store.dypai.secrets
          .filter((s) => s.engine_id === engine.id)
          .map((s) => [
            s.name,
            { value: fernetDecrypt(key, s.ciphertext), version: s.version, updated_at: s.updated_at },
          ]),
      );
      return { engine_id: engine.id, project_id: engine.project_id, secrets };
    }),
    route("POST", "/engines/:id/secrets/:name", (ctx) => {
      const engine = engineOf(emu, ctx.params.id);
      checkName(ctx.params.name);
      const body = ctx.json();
      if (typeof body.value !== "string" || body.value === "")
        throw bad("value", "value must be a non-empty string");
      const { secret } = write(emu, engine, ctx.params.name, body.value);
      return present(secret);
    }),
    route("DELETE", "/engines/:id/secrets/:name", (ctx) => {
      const engine = engineOf(emu, ctx.params.id);
      const s = secretOf(emu, engine.id, ctx.params.name);
      if (!s) throw new HttpError(404, "not_found", "secret not found");
      remove(emu, s);
      return { deleted: true, name: ctx.params.name };
    }),
  ];
}

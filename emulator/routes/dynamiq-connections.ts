import { randomUUID } from "node:crypto";

import type { EmulatorContext } from "../context";
import { HttpError, validationError, type FieldError, type Route } from "../http";
import { randomAlnum } from "../secrets";
import { isoTime, type ConnectionRecord, type UserRecord } from "../store";
import {
  isOAuthType,
  notFound,
  paginate,
  presentConnection,
  queryFlag,
  requireProject,
  requireUser,
  requiredString,
  throwIfErrors,
} from "./dynamiq-common";

/** Longest connection name accepted (assumed; the seed gives no rule for connection names). */
export const MAX_CONNECTION_NAME = 255;

function checkConfig(value: unknown, errors: FieldError[]): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    errors.push({ field: "config", message: "config is required and must be a JSON object" });
    return {};
  }
  return value as Record<string, unknown>;
}

function systemManaged(): HttpError {
  return new HttpError(403, "forbidden", "system-managed connections cannot be changed, deleted or read out");
}

/** Completes the OAuth consent of a connection (used by the admin surface and the consent page). */
export function completeOAuth(emu: EmulatorContext, connection: ConnectionRecord): void {
  connection.status = "active";
  connection.oauth_state = null;
  connection.oauth_access_token = "emu_oauth_" + randomAlnum(40);
  connection.updated_at = isoTime();
  emu.store.commit();
}

/** `/v1/connections` (dynamiq-connections.txt). */
export function connectionRoutes(emu: EmulatorContext): Route[] {
  const { store } = emu;

  function connectionFor(user: UserRecord, id: string): ConnectionRecord {
    const connection = store.connection(id);
    if (!connection) throw notFound("connection");
    requireProject(store, user, connection.project_id);
    return connection;
  }

  return [
    {
      method: "POST",
      path: "/v1/connections",
      handler: (ctx) => {
        const { user } = requireUser(ctx, emu);
        const body = ctx.json();
        const errors: FieldError[] = [];
        const name = requiredString(body, "name", errors);
        if (name.length > MAX_CONNECTION_NAME) {
          errors.push({ field: "name", message: `name must be at most ${MAX_CONNECTION_NAME} characters` });
        }
        const projectId = requiredString(body, "project_id", errors);
        const type = requiredString(body, "type", errors);
        const config = checkConfig(body.config, errors);
        throwIfErrors(errors);
        requireProject(store, user, projectId);
        const now = isoTime();
        const record: ConnectionRecord = {
          id: randomUUID(),
          name,
          project_id: projectId,
          type,
          status: isOAuthType(type) ? "incomplete" : "active",
          config,
          is_system: false,
          created_at: now,
          updated_at: now,
          in_use: false,
          oauth_state: null,
          oauth_access_token: null,
          seq: store.nextSeq(),
        };
        store.connections.push(record);
        store.commit();
        return { status: 200, body: { data: presentConnection(record) } };
      },
    },
    {
      method: "GET",
      path: "/v1/connections",
      handler: (ctx) => {
        const { user } = requireUser(ctx, emu);
        const projectId = ctx.query.get("project_id");
        if (!projectId) {
          throw validationError([{ field: "project_id", message: "project_id query parameter is required" }]);
        }
        const type = ctx.query.get("type");
        const includeSystem = queryFlag(ctx.query, "include_system");
        requireProject(store, user, projectId);
        const rows = store.connections
          .filter((c) => c.project_id === projectId)
          .filter((c) => !type || c.type === type)
          .filter((c) => includeSystem || !c.is_system)
          .sort((a, b) => a.seq - b.seq);
        const page = paginate(rows, ctx.query);
        return { status: 200, body: { data: page.data.map(presentConnection), pagination: page.pagination } };
      },
    },
    {
      method: "GET",
      path: "/v1/connections/:id",
      handler: (ctx) => {
        const { user } = requireUser(ctx, emu);
        return { status: 200, body: { data: presentConnection(connectionFor(user, ctx.params.id)) } };
      },
    },
    {
      method: "PUT",
      path: "/v1/connections/:id",
      handler: (ctx) => {
        const { user } = requireUser(ctx, emu);
        const connection = connectionFor(user, ctx.params.id);
        const body = ctx.json();
        const errors: FieldError[] = [];
        let type = connection.type;
        if (body.type !== undefined) type = requiredString(body, "type", errors);
        const config = checkConfig(body.config, errors);
        throwIfErrors(errors);
        if (connection.is_system) throw systemManaged();
        const typeChanged = type !== connection.type;
        connection.type = type;
        connection.config = config;
        if (isOAuthType(type)) {
          if (typeChanged) {
            connection.status = "incomplete";
            connection.oauth_access_token = null;
            connection.oauth_state = null;
          }
        } else {
          connection.status = "active";
          connection.oauth_access_token = null;
          connection.oauth_state = null;
        }
        connection.updated_at = isoTime();
        store.commit();
        return { status: 200, body: { data: presentConnection(connection) } };
      },
    },
    {
      method: "DELETE",
      path: "/v1/connections/:id",
      handler: (ctx) => {
        const { user } = requireUser(ctx, emu);
        const connection = connectionFor(user, ctx.params.id);
        if (connection.is_system) throw systemManaged();
        if (connection.in_use) {
          throw new HttpError(409, "connection_in_use", "connection is in use and cannot be deleted", {
            connection_id: connection.id,
          });
        }
        store.remove("connections", connection.id);
        return { status: 204 };
      },
    },
    {
      method: "POST",
      path: "/v1/connections/:id/credentials",
      handler: (ctx) => {
        const { user } = requireUser(ctx, emu);
        const connection = connectionFor(user, ctx.params.id);
        if (connection.is_system) throw systemManaged();
        const data: Record<string, unknown> = {
          id: connection.id,
          type: connection.type,
          config: connection.config,
        };
        if (connection.oauth_access_token) data.oauth = { access_token: connection.oauth_access_token };
        return { status: 200, body: { data } };
      },
    },
    {
      method: "POST",
      path: "/v1/connections/:id/oauth2/authorize",
      handler: (ctx) => {
        const { user } = requireUser(ctx, emu);
        const connection = connectionFor(user, ctx.params.id);
        if (!isOAuthType(connection.type)) {
          throw new HttpError(
            400,
            "bad_request",
            "connection type does not use OAuth (type must end with OAuth2)",
            {
              type: connection.type,
            },
          );
        }
        connection.oauth_state = randomAlnum(32);
        store.commit();
        const url = `${emu.baseUrl}/_admin/oauth2/consent?state=${connection.oauth_state}`;
        return { status: 200, body: { data: { url } } };
      },
    },
  ];
}

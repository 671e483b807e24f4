import { randomUUID } from "node:crypto";

import type { EmulatorContext } from "../context";
import { HttpError, validationError, type FieldError, type Route } from "../http";
import {
  ACCESS_KEY_PREFIX,
  LEGACY_PAT_PREFIX,
  PAT_PREFIX,
  fingerprint,
  newSecret,
  preview,
} from "../secrets";
import { isoTime, type AccessKeyRecord, type PatRecord, type Store } from "../store";
import {
  checkExpiresAt,
  checkName,
  notFound,
  optionalString,
  paginate,
  presentAccessKey,
  presentPat,
  requireOrgMember,
  requireUser,
  throwIfErrors,
} from "./dynamiq-common";

/** Creates a PAT record for a user and returns it with its secret (used by the API and by `/_admin/mint`). */
export function mintPat(
  store: Store,
  userId: string,
  name: string,
  expiresAt: string | null,
  legacy = false,
): { record: PatRecord; key: string } {
  const prefix = legacy ? LEGACY_PAT_PREFIX : PAT_PREFIX;
  const key = newSecret(prefix);
  const record: PatRecord = {
    id: randomUUID(),
    name,
    user_id: userId,
    preview: preview(key, prefix),
    fingerprint: fingerprint(key),
    expires_at: expiresAt,
    created_at: isoTime(),
    legacy,
    seq: store.nextSeq(),
  };
  store.pats.push(record);
  store.commit();
  return { record, key };
}

/** `/v1/access-keys` and `/v1/personal-access-tokens` (dynamiq-access-keys-and-pats.txt). */
export function credentialRoutes(emu: EmulatorContext): Route[] {
  const { store } = emu;

  function accessKeyFor(userId: string, id: string): AccessKeyRecord {
    const key = store.accessKey(id);
    if (!key) throw notFound("access key");
    if (!store.isMember(userId, key.org_id)) {
      throw new HttpError(403, "forbidden", "you are not a member of this access key's organization");
    }
    return key;
  }

  function ownPat(userId: string, id: string): PatRecord {
    const token = store.pat(id);
    // Another user's token is reported as missing, not forbidden (assumed: it is out of the caller's scope).
    if (!token || token.user_id !== userId) throw notFound("personal access token");
    return token;
  }

  /** GET and DELETE of one credential the caller may see (`find` answers 404 or 403). */
  function byIdRoutes<R extends { id: string }>(
    path: string,
    table: "access_keys" | "personal_access_tokens",
    find: (userId: string, id: string) => R,
    present: (r: R) => Record<string, unknown>,
  ): Route[] {
    return [
      {
        method: "GET",
        path,
        handler: (ctx) => {
          const { user } = requireUser(ctx, emu);
          return { status: 200, body: { data: present(find(user.id, ctx.params.id)) } };
        },
      },
      {
        method: "DELETE",
        path,
        handler: (ctx) => {
          const { user } = requireUser(ctx, emu);
          store.remove(table, find(user.id, ctx.params.id).id);
          return { status: 204 };
        },
      },
    ];
  }

  return [
    {
      method: "GET",
      path: "/v1/access-keys",
      handler: (ctx) => {
        const { user } = requireUser(ctx, emu);
        const orgId = ctx.query.get("org_id");
        if (!orgId)
          throw validationError([{ field: "org_id", message: "org_id query parameter is required" }]);
        requireOrgMember(store, user, orgId);
        const keys = store.accessKeys.filter((k) => k.org_id === orgId).sort((a, b) => a.seq - b.seq);
        const page = paginate(keys, ctx.query);
        return { status: 200, body: { data: page.data.map(presentAccessKey), pagination: page.pagination } };
      },
    },
    {
      method: "POST",
      path: "/v1/access-keys",
      handler: (ctx) => {
        const { user } = requireUser(ctx, emu);
        const body = ctx.json();
        const errors: FieldError[] = [];
        const nameError = checkName(body.name);
        if (nameError) errors.push(nameError);
        const orgId = body.org_id;
        if (typeof orgId !== "string" || orgId === "") {
          errors.push({ field: "org_id", message: "org_id is required and must be a string" });
        }
        const projectId = optionalString(body, "project_id", errors);
        const expiresAt = checkExpiresAt(body.expires_at, errors);
        throwIfErrors(errors);
        requireOrgMember(store, user, orgId as string);
        if (projectId !== null && store.project(projectId)?.org_id !== orgId) {
          throw new HttpError(400, "project_not_found", "project_id does not belong to org_id", {
            field: "project_id",
            project_id: projectId,
            org_id: orgId,
          });
        }
        const key = newSecret(ACCESS_KEY_PREFIX);
        const record: AccessKeyRecord = {
          id: randomUUID(),
          name: body.name as string,
          org_id: orgId as string,
          project_id: projectId,
          preview: preview(key, ACCESS_KEY_PREFIX),
          fingerprint: fingerprint(key),
          expires_at: expiresAt,
          created_at: isoTime(),
          created_by: user.id,
          seq: store.nextSeq(),
        };
        store.accessKeys.push(record);
        store.commit();
        return { status: 200, body: { data: { ...presentAccessKey(record), key } } };
      },
    },
    ...byIdRoutes("/v1/access-keys/:id", "access_keys", accessKeyFor, presentAccessKey),
    {
      method: "GET",
      path: "/v1/personal-access-tokens",
      handler: (ctx) => {
        const { user } = requireUser(ctx, emu);
        const tokens = store.pats.filter((t) => t.user_id === user.id).sort((a, b) => a.seq - b.seq);
        const page = paginate(tokens, ctx.query);
        return { status: 200, body: { data: page.data.map(presentPat), pagination: page.pagination } };
      },
    },
    {
      method: "POST",
      path: "/v1/personal-access-tokens",
      handler: (ctx) => {
        const { user } = requireUser(ctx, emu);
        const body = ctx.json();
        const errors: FieldError[] = [];
        const nameError = checkName(body.name);
        if (nameError) errors.push(nameError);
        const expiresAt = checkExpiresAt(body.expires_at, errors);
        throwIfErrors(errors);
        const { record, key } = mintPat(store, user.id, body.name as string, expiresAt);
        return { status: 200, body: { data: { ...presentPat(record), key } } };
      },
    },
    ...byIdRoutes("/v1/personal-access-tokens/:id", "personal_access_tokens", ownPat, presentPat),
  ];
}

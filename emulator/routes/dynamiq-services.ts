import { randomUUID } from "node:crypto";

import type { EmulatorContext } from "../context";
import { HttpError, type FieldError, type Route } from "../http";
import { randomAlnum } from "../secrets";
import { isoTime, type DeploymentRecord, type ServiceRecord, type UserRecord } from "../store";
import {
  notFound,
  paginate,
  presentDeployment,
  presentService,
  requireAccessKey,
  requireProject,
  requireUser,
  requiredString,
  throwIfErrors,
} from "./dynamiq-common";

/** Names the platform injects into every deployment; user values for them are ignored (documented). */
export const RESERVED_ENV = ["DYNAMIQ_SERVICE_ID", "DYNAMIQ_SERVICE_TOKEN"] as const;

/** Variable names accepted (assumed: the Kubernetes rule for env var names). */
export const ENV_NAME_PATTERN = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

interface EnvEntry {
  name: string;
  value: string;
  secret: boolean;
}

function checkEnv(value: unknown, errors: FieldError[]): EnvEntry[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    errors.push({ field: "env", message: "env must be an array of {name, value, secret?}" });
    return [];
  }
  const entries: EnvEntry[] = [];
  const seen = new Set<string>();
  value.forEach((item: unknown, i) => {
    const field = `env[${i}]`;
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      errors.push({ field, message: `${field} must be an object {name, value, secret?}` });
      return;
    }
    const e = item as Record<string, unknown>;
    if (typeof e.name !== "string" || e.name === "") {
      errors.push({ field: `${field}.name`, message: `${field}.name is required and must be a string` });
      return;
    }
    if (!ENV_NAME_PATTERN.test(e.name)) {
      errors.push({
        field: `${field}.name`,
        message: `${field}.name must consist of letters, digits, '_', '-' or '.' and not start with a digit`,
      });
      return;
    }
    // Never quote the value: it may be a secret.
    if (typeof e.value !== "string") {
      errors.push({ field: `${field}.value`, message: `${field}.value is required and must be a string` });
      return;
    }
    if (e.secret !== undefined && e.secret !== null && typeof e.secret !== "boolean") {
      errors.push({ field: `${field}.secret`, message: `${field}.secret must be a boolean` });
      return;
    }
    if (seen.has(e.name)) {
      errors.push({
        field: `${field}.name`,
        message: `${field}.name duplicates an earlier entry (${e.name})`,
      });
      return;
    }
    seen.add(e.name);
    entries.push({ name: e.name, value: e.value, secret: e.secret === true });
  });
  return entries;
}

/** Finishes an `in_progress` deployment: `failed` when armed, else `succeeded`. */
export function finishDeployment(emu: EmulatorContext, id: string): void {
  const d = emu.store.deployment(id);
  if (!d || d.status !== "in_progress") return;
  if (d.planned_failure !== null) {
    d.status = "failed";
    d.message = d.planned_failure;
  } else {
    d.status = "succeeded";
  }
  d.finished_at = isoTime();
  emu.store.commit();
}

/** Schedules the completion of every `in_progress` deployment (after a restart with `--state`). */
export function resumeDeployments(emu: EmulatorContext): void {
  for (const d of emu.store.deployments) {
    if (d.status !== "in_progress") continue;
    const service = emu.store.service(d.service_id);
    emu.later(service?.deploy_delay_ms ?? 0, () => finishDeployment(emu, d.id));
  }
}

/** The env a service runs with: the newest succeeded deployment's plain + secret + injected variables. */
export function serviceRuntime(emu: EmulatorContext, service: ServiceRecord): Record<string, unknown> {
  const active = emu.store.deploymentsOf(service.id).find((d) => d.status === "succeeded");
  if (!active) {
    return {
      service_id: service.id,
      deployment_id: null,
      image: null,
      env: {},
      plain_env: {},
      secret_env: {},
    };
  }
  const plain = Object.fromEntries(active.plain_env.map((e) => [e.name, e.value]));
  const secret = { ...(emu.store.deploymentSecret(active.id)?.values ?? {}) };
  return {
    service_id: service.id,
    deployment_id: active.id,
    image: active.image,
    env: { ...plain, ...secret },
    plain_env: plain,
    secret_env: secret,
  };
}

/** `/v1/services/...` (dynamiq-service-variables.txt) and the deployed endpoint `/apps/:service_id/invoke`. */
export function serviceRoutes(emu: EmulatorContext): Route[] {
  const { store } = emu;

  function serviceFor(user: UserRecord, id: string): ServiceRecord {
    const service = store.service(id);
    if (!service) throw notFound("service");
    requireProject(store, user, service.project_id);
    return service;
  }

  return [
    {
      method: "GET",
      path: "/v1/services/:id",
      handler: (ctx) => {
        const { user } = requireUser(ctx, emu);
        return { status: 200, body: { data: presentService(store, serviceFor(user, ctx.params.id)) } };
      },
    },
    {
      method: "POST",
      path: "/v1/services/:id/deploy",
      handler: (ctx) => {
        const { user } = requireUser(ctx, emu);
        const service = serviceFor(user, ctx.params.id);
        const body = ctx.json();
        const errors: FieldError[] = [];
        const image = requiredString(body, "image", errors);
        let resources: Record<string, unknown> | null = null;
        if (body.resources !== undefined && body.resources !== null) {
          if (typeof body.resources !== "object" || Array.isArray(body.resources)) {
            errors.push({ field: "resources", message: "resources must be a JSON object" });
          } else {
            resources = body.resources as Record<string, unknown>;
          }
        }
        const env = checkEnv(body.env, errors);
        throwIfErrors(errors);

        const reserved = new Set<string>(RESERVED_ENV);
        const kept = env.filter((e) => !reserved.has(e.name));
        const id = randomUUID();
        const now = new Date();
        const record: DeploymentRecord = {
          id,
          service_id: service.id,
          image,
          resources,
          plain_env: kept.filter((e) => !e.secret).map((e) => ({ name: e.name, value: e.value })),
          secret_env_names: kept.filter((e) => e.secret).map((e) => e.name),
          ignored_env_names: env.filter((e) => reserved.has(e.name)).map((e) => e.name),
          status: "in_progress",
          created_at: isoTime(now.getTime()),
          finished_at: null,
          message: null,
          planned_failure: service.fail_next_deploy,
          seq: store.nextSeq(),
        };
        service.fail_next_deploy = null;
        // Secrets go to a separate object (the "Kubernetes Secret"), together with the injected variables,
        // which are written last so that they win.
        const values: Record<string, string> = {};
        for (const e of kept) if (e.secret) values[e.name] = e.value;
        values.DYNAMIQ_SERVICE_ID = service.id;
        values.DYNAMIQ_SERVICE_TOKEN = "dst_" + randomAlnum(64);
        store.deployments.push(record);
        store.deploymentSecrets.push({
          deployment_id: id,
          values,
          service_token_expires_at: isoTime(now.getTime() + YEAR_MS),
        });
        store.commit();
        emu.later(service.deploy_delay_ms, () => finishDeployment(emu, id));
        return { status: 200, body: { data: presentDeployment(record) } };
      },
    },
    {
      method: "GET",
      path: "/v1/services/:id/deployments",
      handler: (ctx) => {
        const { user } = requireUser(ctx, emu);
        const service = serviceFor(user, ctx.params.id);
        const page = paginate(store.deploymentsOf(service.id), ctx.query);
        return { status: 200, body: { data: page.data.map(presentDeployment), pagination: page.pagination } };
      },
    },
    {
      method: "GET",
      path: "/v1/services/:id/deployments/:deployment_id",
      handler: (ctx) => {
        const { user } = requireUser(ctx, emu);
        const service = serviceFor(user, ctx.params.id);
        const deployment = store.deployment(ctx.params.deployment_id);
        if (!deployment || deployment.service_id !== service.id) throw notFound("deployment");
        return { status: 200, body: { data: presentDeployment(deployment) } };
      },
    },
    {
      method: "POST",
      path: "/apps/:service_id/invoke",
      handler: (ctx) => {
        const key = requireAccessKey(ctx, emu);
        const service = store.service(ctx.params.service_id);
        if (!service) throw notFound("service");
        const project = store.project(service.project_id);
        const inScope =
          project !== undefined &&
          key.org_id === project.org_id &&
          (key.project_id === null || key.project_id === service.project_id);
        if (!inScope) throw new HttpError(403, "forbidden", "this Access Key is not valid for this service");
        const active = store.deploymentsOf(service.id).find((d) => d.status === "succeeded");
        return {
          status: 200,
          body: {
            data: {
              ok: true,
              service_id: service.id,
              access_key_id: key.id,
              deployment_id: active?.id ?? null,
            },
          },
        };
      },
    },
  ];
}

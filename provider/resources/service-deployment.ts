// Dynamiq Service Deployment: one deploy of a service with its image, resources and environment. The platform
// makes the deploy the unit of change (variables are part of the deployment record; there is no edit
// endpoint), so every change is a new deployment: a replacement, create-before-delete. Deleting a deployment
// makes no API call: the platform has no endpoint to remove one, a superseded record is history, and the
// service keeps running its newest deployment, which a delete must never undo.
import type { z as Z } from "zod";
import { OperationError, ProviderError } from "../errors";
import type { DeploymentRecord, EnvEntry } from "../clients/dynamiq";
import { collectNewestSince } from "../pagination";
import { pollUntil } from "../poll";
import { answerLost, createReconciled } from "../reconcile";
import {
  changedKeys,
  isUnknown,
  jsonEqual,
  type ResourceContext,
  type ResourceDefinition,
  unlessGone,
} from "../resource";
import { UUID_RE, failuresOf, typeName, userInputs } from "../validate";
import type { InputFailure } from "../errors";

export interface ResourceQuantities {
  cpu?: string;
  memory?: string;
}

export interface ServiceDeploymentInputs {
  /** The service to deploy (UUID). */
  serviceId: string;
  /** A prebuilt image, e.g. `registry.example.com/qa-service:1.0.0`. */
  image: string;
  resources?: { requests?: ResourceQuantities; limits?: ResourceQuantities };
  /** Plain variables, set on the container spec. */
  env?: Record<string, string>;
  /** Secret variables, stored by the platform in a Kubernetes Secret; secrets in state. */
  secretEnv?: Record<string, string>;
  /** How long to wait for the deployment to finish (default 600 s); Pulumi's customTimeouts do not reach here. */
  timeoutSeconds?: number;
  /** Take over an existing deployment by id instead of deploying. */
  adoptId?: string;
}

export interface ServiceDeploymentOutputs extends ServiceDeploymentInputs {
  status: string;
  /** The deployment the service runs now; another id than this one means someone deployed since. */
  activeDeploymentId?: string;
  createdAt?: string;
  finishedAt?: string;
}

export const RESERVED_ENV = ["DYNAMIQ_SERVICE_ID", "DYNAMIQ_SERVICE_TOKEN"];
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_VALUE = 32 * 1024;
const DEFAULT_TIMEOUT_S = 600;
const MAX_POLL_FAILURES = 5;

// Deployment statuses are not published; these are the ones that end a deployment (assumed).
const SUCCEEDED = new Set(["succeeded", "success", "ready", "running", "active", "deployed"]);
const FAILED = new Set(["failed", "error", "cancelled", "canceled", "rejected"]);

let schema: Z.ZodType | undefined;
function inputSchema(): Z.ZodType {
  if (schema) return schema;
  const { z } = require("zod") as typeof import("zod");
  const quantities = z.strictObject({
    cpu: z
      .string()
      .regex(/^\d+(\.\d+)?m?$/, 'must be a CPU quantity such as "100m" or "0.5"')
      .optional(),
    memory: z
      .string()
      .regex(/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$/, 'must be a memory quantity such as "256Mi"')
      .optional(),
  });
  schema = z.strictObject({
    serviceId: z.string().regex(UUID_RE, "must be a service id (a UUID)"),
    image: z
      .string()
      .min(1, "must not be empty")
      .max(1024, "must be at most 1024 characters")
      .regex(/^\S*$/, "must not contain white space"),
    resources: z.strictObject({ requests: quantities.optional(), limits: quantities.optional() }).optional(),
    env: z.record(z.string(), z.unknown()).optional(),
    secretEnv: z.record(z.string(), z.unknown()).optional(),
    timeoutSeconds: z
      .number({ error: "must be a number of seconds" })
      .int("must be a whole number of seconds")
      .min(1, "must be at least 1")
      .max(7200, "must be at most 7200")
      .optional(),
    adoptId: z.string().min(1, "must not be empty").optional(),
  });
  return schema;
}

function envFailures(group: "env" | "secretEnv", vars: unknown, other: unknown): InputFailure[] {
  if (!vars || typeof vars !== "object" || Array.isArray(vars) || isUnknown(vars)) return [];
  const failures: InputFailure[] = [];
  const otherNames = other && typeof other === "object" && !isUnknown(other) ? Object.keys(other) : [];
  for (const [name, value] of Object.entries(vars)) {
    const property = `${group}.${name}`;
    if (RESERVED_ENV.includes(name)) {
      failures.push({
        property,
        reason: `${name} is reserved: the platform injects its own value and ignores yours`,
      });
    } else if (!ENV_NAME_RE.test(name)) {
      failures.push({
        property,
        reason: "must be a valid environment variable name: letters, digits and _, not starting with a digit",
      });
    }
    if (group === "secretEnv" && otherNames.includes(name)) {
      failures.push({ property, reason: "is also declared in env; a variable is either plain or secret" });
    }
    if (isUnknown(value)) continue;
    if (typeof value !== "string")
      failures.push({ property, reason: `must be a string, got ${typeName(value)}` });
    else if (value.length > MAX_VALUE)
      failures.push({ property, reason: `must be at most ${MAX_VALUE} characters` });
    else if (value.includes("\u0000") || !value.isWellFormed()) {
      failures.push({ property, reason: "must not contain NUL characters or invalid unicode" });
    }
  }
  return failures;
}

function check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
  const inputs = userInputs(news);
  const failures = [
    ...failuresOf(inputSchema(), inputs, ""),
    ...envFailures("env", inputs.env, undefined),
    ...envFailures("secretEnv", inputs.secretEnv, inputs.env),
  ];
  return { inputs: inputs as unknown as ServiceDeploymentInputs, failures };
}

const REPLACING = ["serviceId", "image", "resources", "env", "secretEnv", "adoptId"] as const;

function envEntries(inputs: ServiceDeploymentInputs): EnvEntry[] {
  return [
    ...Object.entries(inputs.env ?? {}).map(([name, value]) => ({ name, value })),
    ...Object.entries(inputs.secretEnv ?? {}).map(([name, value]) => ({ name, value, secret: true })),
  ];
}

async function waitForDeployment(
  ctx: ResourceContext,
  serviceId: string,
  dep: DeploymentRecord,
  timeoutS: number,
) {
  const statusOf = (d: DeploymentRecord) => (d.status ?? "").toLowerCase();
  let current = dep;
  let pollFailures = 0;
  const { last, done } = await pollUntil({
    deadline: Date.now() + timeoutS * 1000,
    first: dep,
    // A deployment without a status is taken as done: not every deployment kind reports one.
    done: (d) => !statusOf(d) || SUCCEEDED.has(statusOf(d)) || FAILED.has(statusOf(d)),
    poll: async () => {
      try {
        current = await ctx.dynamiq().getDeployment(serviceId, current.id);
        pollFailures = 0;
      } catch (e) {
        // A poll changes nothing: a lost or unreadable answer is asked again, a few times in a row at most.
        if (!answerLost(e) || ++pollFailures > MAX_POLL_FAILURES) throw e;
      }
      return current;
    },
  });
  const final = last ?? dep;
  const status = statusOf(final);
  if (!done) {
    throw new OperationError(
      "dynamiq",
      `deployment of service ${serviceId} did not finish within ${timeoutS} s (raise timeoutSeconds to wait longer); the platform may still complete it`,
      { service: serviceId, deployment: final.id, status },
    );
  }
  if (FAILED.has(status)) {
    throw new OperationError(
      "dynamiq",
      `deployment of service ${serviceId} ${status}: ${final.message ?? "no message"}`,
      { service: serviceId, deployment: final.id, status },
    );
  }
  return final;
}

/** The inputs an existing deployment stands for (adopted, or looked up by `get`): its image and plain variables. */
function deployedInputs(inputs: ServiceDeploymentInputs, rec: DeploymentRecord): ServiceDeploymentInputs {
  const plain = Object.fromEntries(
    (rec.env ?? []).filter((e) => !e.secret).map((e) => [e.name, e.value ?? ""]),
  );
  return { ...inputs, image: rec.image, env: plain };
}

function outputsOf(inputs: ServiceDeploymentInputs, rec: DeploymentRecord): ServiceDeploymentOutputs {
  const out: ServiceDeploymentOutputs = {
    ...inputs,
    status: rec.status ?? "succeeded",
    activeDeploymentId: rec.id,
  };
  if (rec.created_at) out.createdAt = rec.created_at;
  if (rec.finished_at) out.finishedAt = rec.finished_at;
  return out;
}

export const serviceDeployment: ResourceDefinition<ServiceDeploymentInputs, ServiceDeploymentOutputs> = {
  type: "ServiceDeployment",
  platform: "dynamiq",
  check,

  diff(id, olds, news) {
    const replaces = changedKeys(olds as ServiceDeploymentInputs, news, [...REPLACING]);
    // Someone deployed since: the declared state is no longer what runs, so deploy it again.
    if (olds.activeDeploymentId && olds.activeDeploymentId !== id) replaces.push("activeDeploymentId");
    const diffs = [...replaces, ...changedKeys(olds as ServiceDeploymentInputs, news, ["timeoutSeconds"])];
    return { changes: diffs.length > 0, replaces, diffs };
  },

  async create(ctx, inputs) {
    const client = ctx.dynamiq();
    if (inputs.adoptId) {
      const rec = await client.getDeployment(inputs.serviceId, inputs.adoptId);
      return { id: rec.id, outs: outputsOf(deployedInputs(inputs, rec), rec) };
    }
    const body = {
      image: inputs.image,
      ...(inputs.resources ? { resources: inputs.resources } : {}),
      env: envEntries(inputs),
    };
    // A lost answer: adopt the deployment that attempt started (same image and variable names, created in the
    // attempt's window); nothing secret is lost, and a second deploy would only supersede it (provider/reconcile.ts).
    const names = body.env.map((e) => `${e.secret ? "s" : "p"}:${e.name}`).sort();
    const { rec: started } = await createReconciled<DeploymentRecord>({
      kind: "deployment",
      name: inputs.image,
      scope: inputs.serviceId,
      resolve: "adopt",
      create: () => client.deploy(inputs.serviceId, body, Object.values(inputs.secretEnv ?? {})),
      // Deployments are listed newest first: only the pages of the attempt's window are read.
      candidates: (since) =>
        collectNewestSince(
          (page, page_size) => client.listDeployments(inputs.serviceId, { page, page_size }),
          (d) =>
            d.image === inputs.image &&
            jsonEqual((d.env ?? []).map((e) => `${e.secret ? "s" : "p"}:${e.name}`).sort(), names),
          since,
        ),
    });
    const done = await waitForDeployment(
      ctx,
      inputs.serviceId,
      started,
      inputs.timeoutSeconds ?? DEFAULT_TIMEOUT_S,
    );
    return { id: done.id, outs: outputsOf(inputs, done) };
  },

  async read(ctx, id, props) {
    if (props.serviceId === undefined) {
      throw new ProviderError(
        "invalid_input",
        `dynamiq: deployment ${id} cannot be read without its service: use ServiceDeployment.get(name, id, { serviceId })`,
      );
    }
    // A 404 means the service is gone, and its deployments with it.
    const service = await unlessGone(ctx.dynamiq().getService(props.serviceId));
    if (!service) return null;
    const active = service.active_deployment_id ?? service.latest_deployment_id ?? undefined;
    let outs: ServiceDeploymentOutputs = { ...props };
    if (props.image === undefined) {
      // A lookup (`ServiceDeployment.get`): state holds only the service id; the deployment says the rest.
      const rec = await unlessGone(ctx.dynamiq().getDeployment(props.serviceId, id));
      if (!rec) return null;
      outs = outputsOf(deployedInputs({ serviceId: props.serviceId, image: rec.image }, rec), rec);
    }
    if (active) outs.activeDeploymentId = active;
    else delete outs.activeDeploymentId;
    return { id, props: outs };
  },

  async update(_ctx, _id, olds, news) {
    // Only timeoutSeconds changes in place; everything else is a new deployment.
    const outs: ServiceDeploymentOutputs = { ...olds };
    if (news.timeoutSeconds !== undefined) outs.timeoutSeconds = news.timeoutSeconds;
    else delete outs.timeoutSeconds;
    return outs;
  },

  async delete() {
    // No API call, by design: see the header comment and README ("What destroy does").
  },
};

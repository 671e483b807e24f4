import * as pulumi from "@pulumi/pulumi";
import { AccessKey, Connection, ServiceDeployment } from "pulumi-dynamiq";

// The provider's own credential comes from stack config (`dynamiq:token`, set with --secret) or the
// DYNAMIQ_API_TOKEN environment variable; nothing in this program touches it.
const cfg = new pulumi.Config();
const orgId = cfg.require("orgId");
const projectId = cfg.require("projectId");

// An LLM provider key, kept as a secret from config to state.
const openai = new Connection("openai", {
  projectId,
  name: "openai-prod",
  type: "dynamiq.connections.OpenAI",
  config: { api_key: cfg.requireSecret("openaiApiKey") },
});

// A database: host, port and user are plain settings, the password is a secret. Changing the host updates the
// connection in place; renaming it would replace it.
const analytics = new Connection("analytics-db", {
  projectId,
  name: "analytics-postgres",
  type: "dynamiq.connections.PostgreSQL",
  config: {
    host: cfg.get("dbHost") ?? "analytics.db.internal",
    port: 5432,
    database: "analytics",
    user: "reader",
    password: cfg.requireSecret("dbPassword"),
  },
});

// A project-scoped Access Key for the backend. Each key lives 90 days from its creation; it is rotated after 30
// days, or when its expiry is 14 days away, whichever comes first, or when `keyTrigger` changes.
const backendKey = new AccessKey("backend-key", {
  orgId,
  projectId,
  name: "quickstart-backend",
  expiresInDays: 90,
  rotation: { rotateAfterDays: 30, renewBeforeExpiryDays: 14, trigger: cfg.get("keyTrigger") },
});

// The backend service receives the key as a secret variable. A new key means a new deployment, made before the
// old key is revoked.
const backend = new ServiceDeployment("backend", {
  serviceId: cfg.require("serviceId"),
  image: cfg.get("image") ?? "registry.example.com/qa-service:1.0.0",
  resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "200m", memory: "512Mi" } },
  env: { LOG_LEVEL: cfg.get("logLevel") ?? "info" },
  secretEnv: { DYNAMIQ_ACCESS_KEY: backendKey.key, OPENAI_API_KEY: cfg.requireSecret("openaiApiKey") },
});

export const openaiConnectionId = openai.id;
export const openaiStatus = openai.status;
export const analyticsConnectionId = analytics.id;
export const backendKeyId = backendKey.id;
export const backendKeyPreview = backendKey.preview;
export const backendKeyExpiresAt = backendKey.expiresAt;
export const deploymentId = backend.id;

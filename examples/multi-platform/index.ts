import * as pulumi from "@pulumi/pulumi";
import { AccessKey, ServiceDeployment } from "pulumi-dynamiq";
import { BackendSecret } from "pulumi-dynamiq/dypai";
import { ServiceEnvVariables } from "pulumi-dynamiq/flightcontrol";

// Provider credentials come from stack config: dynamiq:token, flightcontrol:apiKey and dypai:token (all set with
// --secret), plus dynamiq:baseUrl, flightcontrol:baseUrl and dypai:baseUrl where they are not the defaults.
const cfg = new pulumi.Config();

// One project-scoped key for every backend that calls the Dynamiq app. It lives 90 days from its creation and
// is replaced after 30, or at once when `keyTrigger` changes.
const key = new AccessKey("backend-key", {
  orgId: cfg.require("orgId"),
  projectId: cfg.require("projectId"),
  name: "multi-platform-backend",
  expiresInDays: 90,
  rotation: { rotateAfterDays: 30, trigger: cfg.get("keyTrigger") },
});

// A Dynamiq service deployment: a new key is a new deployment.
new ServiceDeployment("dynamiq-worker", {
  serviceId: cfg.require("dynamiqServiceId"),
  image: "registry.example.com/worker:2.4.0",
  env: { LOG_LEVEL: "info" },
  secretEnv: { DYNAMIQ_ACCESS_KEY: key.key },
});

// A Flightcontrol service: the key goes to AWS Secrets Manager through Flightcontrol (stored asynchronously;
// the up waits for it). Other variables of that service are not touched.
new ServiceEnvVariables("flightcontrol-web", {
  serviceId: cfg.require("flightcontrolServiceId"),
  plainText: { DYNAMIQ_APP_URL: "https://app.example.com/invoke" },
  secretsManager: { DYNAMIQ_ACCESS_KEY: key.key },
});

// A DYPAI engine: a backend secret, overwritten in place, available to the engine at once as ${ secrets.DYNAMIQ_ACCESS_KEY }.
new BackendSecret("dypai-engine", {
  engineId: cfg.require("dypaiEngineId"),
  name: "DYNAMIQ_ACCESS_KEY",
  value: key.key,
});

export const keyId = key.id;
export const keyPreview = key.preview;
export const keyExpiresAt = key.expiresAt;

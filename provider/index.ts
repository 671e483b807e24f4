// The `pulumi-dynamiq/provider` entry point: what the serialised provider stub in every resource's `__provider`
// loads in Pulumi's dynamic-provider host (`configure`, `dynamicProvider`), the errors the provider raises, and
// the input and output shapes of each resource kind. Everything else (clients, settings, definitions, helpers)
// is internal: it may change in any release.
export { configure, dynamicProvider } from "./dynamic";
export * from "./errors";
export type { ConnectionInputs, ConnectionOutputs } from "./resources/connection";
export type { AccessKeyInputs, AccessKeyOutputs } from "./resources/access-key";
export type {
  PersonalAccessTokenInputs,
  PersonalAccessTokenOutputs,
} from "./resources/personal-access-token";
export type { CredentialInputs, CredentialOutputs } from "./resources/credential";
export type { Rotation } from "./resources/credential";
export type { ServiceDeploymentInputs, ServiceDeploymentOutputs } from "./resources/service-deployment";
export type {
  ServiceEnvVariablesInputs,
  ServiceEnvVariablesOutputs,
} from "./resources/service-env-variables";
export type { ServiceReference } from "./clients/flightcontrol";
export type { BackendSecretInputs, BackendSecretOutputs } from "./resources/backend-secret";

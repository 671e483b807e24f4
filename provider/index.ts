// Everything the provider side exports: the Pulumi front-end, the resource definitions it is built on, the
// platform clients and the error hierarchy.
export { configure, dynamicProvider } from "./dynamic";
export * from "./errors";
export * from "./resource";
export { HttpClient, DEFAULT_RETRY, encodePath, parseRetryAfter, sharedDispatcher } from "./http";
export type { HttpClientOptions, RequestSpec, HttpResponse, RetryPolicy } from "./http";
export { DynamiqClient, dynamiqClient } from "./clients/dynamiq";
export {
  MAX_PAGE_SIZE,
  walkPages,
  findInPages,
  collectPages,
  collectNewestSince,
  type PageFetcher,
} from "./pagination";
export type { ConnectionRecord, Pagination, ClientOverrides } from "./clients/dynamiq";
export {
  dynamiqSettings,
  flightcontrolSettings,
  dypaiSettings,
  requirePersonalAccessToken,
  checkBaseUrl,
  resetConfiguration,
} from "./settings";
export type { ConfigSource, PlatformSettings } from "./settings";
export { connection } from "./resources/connection";
export type { ConnectionInputs, ConnectionOutputs } from "./resources/connection";
export {
  connectionFields,
  knownConnectionTypes,
  secretFields,
  configSchema,
  isOAuthType,
} from "./resources/connection-types";
export { accessKey } from "./resources/access-key";
export type { AccessKeyInputs, AccessKeyOutputs } from "./resources/access-key";
export { personalAccessToken } from "./resources/personal-access-token";
export type {
  PersonalAccessTokenInputs,
  PersonalAccessTokenOutputs,
} from "./resources/personal-access-token";
export { serviceDeployment, RESERVED_ENV } from "./resources/service-deployment";
export type { ServiceDeploymentInputs, ServiceDeploymentOutputs } from "./resources/service-deployment";
export { rotationDue, expiryFor, ROTATION_REASONS, type Rotation } from "./rotation";
export type { CredentialInputs, CredentialOutputs } from "./resources/credential";
export {
  FlightcontrolClient,
  flightcontrolClient,
  FC_GROUPS,
  FC_SECRET_GROUPS,
} from "./clients/flightcontrol";
export type {
  EnvVariablesBody,
  FcGroup,
  RemoteVariable,
  RunStatus,
  SaveResult,
  ServiceReference,
} from "./clients/flightcontrol";
export { DypaiClient, dypaiClient } from "./clients/dypai";
export type { SecretMeta, DeleteOutcome } from "./clients/dypai";
export { serviceEnvVariables } from "./resources/flightcontrol-env-variables";
export type {
  ServiceEnvVariablesInputs,
  ServiceEnvVariablesOutputs,
} from "./resources/flightcontrol-env-variables";
export { backendSecret } from "./resources/dypai-backend-secret";
export type { BackendSecretInputs, BackendSecretOutputs } from "./resources/dypai-backend-secret";

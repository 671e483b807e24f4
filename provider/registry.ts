// Every resource kind the provider knows, by the type name the SDK registers it under. State written by any
// earlier version names one of these kinds; a kind is never removed or renamed.
import type { ResourceDefinition } from "./resource";
import { accessKey } from "./resources/access-key";
import { connection } from "./resources/connection";
import { backendSecret } from "./resources/backend-secret";
import { serviceEnvVariables } from "./resources/service-env-variables";
import { personalAccessToken } from "./resources/personal-access-token";
import { serviceDeployment } from "./resources/service-deployment";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDefinition = ResourceDefinition<any, any>;

export const DEFINITIONS: Record<string, AnyDefinition> = {
  [connection.type]: connection,
  [accessKey.type]: accessKey,
  [personalAccessToken.type]: personalAccessToken,
  [serviceDeployment.type]: serviceDeployment,
  [serviceEnvVariables.type]: serviceEnvVariables,
  [backendSecret.type]: backendSecret,
};

export { Connection, type ConnectionArgs } from "./connection";
export { AccessKey, type AccessKeyArgs } from "./access-key";
export { PersonalAccessToken, type PersonalAccessTokenArgs } from "./personal-access-token";
export { Credential, type CredentialArgs } from "./credential";
export { ServiceDeployment, type ServiceDeploymentArgs } from "./service-deployment";
export type { Rotation } from "../provider/resources/credential";
export { Provider, type ProviderArgs } from "./dynamiq-provider";

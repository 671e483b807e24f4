// The Dynamiq management API client (https://api.getdynamiq.ai). Shapes follow the platform's documents in
// shared/seeds; what they leave out is listed as assumed in emulator/README.md.
import { encodePath, platformHttp, type ClientOverrides, type HttpClient, type HttpResponse } from "../http";
import { dynamiqSettings, requirePersonalAccessToken, type PlatformSettings } from "../settings";

export interface Pagination {
  page: number;
  page_size: number;
  page_count: number;
  total_count: number;
}

export interface ConnectionRecord {
  id: string;
  name: string;
  project_id: string;
  type: string;
  status: "active" | "incomplete" | "expired" | string;
  config?: Record<string, unknown> | null;
  is_system?: boolean;
  created_at?: string;
  updated_at?: string;
}

/** Access keys and tokens as the API returns them; `key` only in the answer to a create. */
export interface AccessKeyRecord {
  id: string;
  name: string;
  org_id: string;
  project_id: string | null;
  preview: string;
  expires_at: string | null;
  created_at: string;
  created_by?: string;
  key?: string;
}

export interface TokenRecord {
  id: string;
  name: string;
  preview: string;
  expires_at: string | null;
  created_at: string;
  key?: string;
}

export interface EnvEntry {
  name: string;
  value?: string;
  secret?: boolean;
}

export interface DeploymentRecord {
  id: string;
  service_id: string;
  image: string;
  resources?: Record<string, unknown> | null;
  env?: EnvEntry[];
  status: string;
  message?: string | null;
  created_at: string;
  finished_at?: string | null;
}

export interface ServiceRecord {
  id: string;
  name?: string;
  project_id?: string;
  org_id?: string;
  latest_deployment_id?: string | null;
  active_deployment_id?: string | null;
}

export class DynamiqClient {
  constructor(readonly http: HttpClient) {}

  /** The `data` of an answer (or of the answer a request will give), checked for the fields the API promises. */
  private async data<T>(
    p: HttpResponse | Promise<HttpResponse>,
    method: string,
    path: string,
    required: string[] = [],
  ): Promise<T> {
    const res = await p;
    const body = res.body as { data?: T } | undefined;
    const fail = (reason: string) => this.http.badAnswer(method, path, res, reason);
    if (!body || typeof body !== "object" || !("data" in body))
      throw fail("the response has no `data` envelope");
    // A 200 without a field the API documents is not an answer we can act on (nor drop state over).
    const data = body.data as Record<string, unknown> | null;
    const missing = required.filter(
      (f) => !data || typeof data !== "object" || data[f] === undefined || data[f] === null || data[f] === "",
    );
    if (missing.length > 0) throw fail(`the response lacks ${missing.map((f) => `\`${f}\``).join(", ")}`);
    return body.data as T;
  }

  // ---- connections -------------------------------------------------------------------------------------

  createConnection(
    input: { name: string; project_id: string; type: string; config: Record<string, unknown> },
    secrets: string[],
  ) {
    const path = "/v1/connections";
    return this.data<ConnectionRecord>(
      this.http.request({ method: "POST", path, body: input, secrets }),
      "POST",
      path,
      ["id", "name", "project_id", "status"],
    );
  }

  getConnection(id: string) {
    const path = encodePath`/v1/connections/${id}`;
    return this.data<ConnectionRecord>(this.http.request({ method: "GET", path }), "GET", path, [
      "id",
      "name",
      "project_id",
      "type",
      "status",
    ]);
  }

  updateConnection(id: string, input: { type: string; config: Record<string, unknown> }, secrets: string[]) {
    const path = encodePath`/v1/connections/${id}`;
    return this.data<ConnectionRecord>(
      this.http.request({ method: "PUT", path, body: input, secrets }),
      "PUT",
      path,
      ["id", "name", "project_id", "type", "status"],
    );
  }

  /** Resolves also when it was already gone (404/410). */
  deleteConnection(id: string): Promise<void> {
    return this.http.remove({ path: encodePath`/v1/connections/${id}` });
  }

  /** The decrypted config; the only endpoint that returns secret fields. */
  async connectionCredentials(id: string): Promise<Record<string, unknown>> {
    const path = encodePath`/v1/connections/${id}/credentials`;
    // Reading credentials changes nothing, so it may be retried like a GET.
    const res = await this.http.request({ method: "POST", path, idempotent: true });
    const data = await this.data<{ config?: unknown } & Record<string, unknown>>(res, "POST", path);
    // The answer's shape is not published: the config itself, or the connection with its config (assumed).
    if (data.config && typeof data.config === "object") return data.config as Record<string, unknown>;
    if ("id" in data && "type" in data) {
      // The connection without its config: never take the record itself for the credentials.
      throw this.http.badAnswer("POST", path, res, "the response lacks `config`");
    }
    return data;
  }

  authorizeConnection(id: string) {
    const path = encodePath`/v1/connections/${id}/oauth2/authorize`;
    return this.data<{ url: string }>(
      this.http.request({ method: "POST", path, idempotent: true }),
      "POST",
      path,
      ["url"],
    );
  }

  // ---- access keys -------------------------------------------------------------------------------------

  /** Never retried blindly: a lost answer to this POST may still have minted a key. */
  createAccessKey(input: { name: string; org_id: string; project_id?: string; expires_at?: string }) {
    const path = "/v1/access-keys";
    return this.data<AccessKeyRecord>(
      this.http.request({ method: "POST", path, body: input }),
      "POST",
      path,
      ["id", "key", "name", "org_id", "created_at"],
    );
  }

  getAccessKey(id: string) {
    const path = encodePath`/v1/access-keys/${id}`;
    return this.data<AccessKeyRecord>(this.http.request({ method: "GET", path }), "GET", path, [
      "id",
      "name",
      "org_id",
      "created_at",
    ]);
  }

  /** Resolves also when it was already gone (404/410). */
  deleteAccessKey(id: string): Promise<void> {
    return this.http.remove({ path: encodePath`/v1/access-keys/${id}` });
  }

  async listAccessKeys(q: { org_id: string; page?: number; page_size?: number }) {
    const res = await this.http.request<{ data: AccessKeyRecord[]; pagination: Pagination }>({
      method: "GET",
      path: "/v1/access-keys",
      query: q,
    });
    return res.body;
  }

  // ---- personal access tokens ----------------------------------------------------------------------------

  createToken(input: { name: string; expires_at?: string }) {
    const path = "/v1/personal-access-tokens";
    return this.data<TokenRecord>(this.http.request({ method: "POST", path, body: input }), "POST", path, [
      "id",
      "key",
      "name",
      "created_at",
    ]);
  }

  getToken(id: string) {
    const path = encodePath`/v1/personal-access-tokens/${id}`;
    return this.data<TokenRecord>(this.http.request({ method: "GET", path }), "GET", path, [
      "id",
      "name",
      "created_at",
    ]);
  }

  /** Resolves also when it was already gone (404/410). */
  deleteToken(id: string): Promise<void> {
    return this.http.remove({ path: encodePath`/v1/personal-access-tokens/${id}` });
  }

  async listTokens(q: { page?: number; page_size?: number }) {
    const res = await this.http.request<{ data: TokenRecord[]; pagination: Pagination }>({
      method: "GET",
      path: "/v1/personal-access-tokens",
      query: q,
    });
    return res.body;
  }

  // ---- services and deployments --------------------------------------------------------------------------

  deploy(
    serviceId: string,
    input: { image: string; resources?: unknown; env: EnvEntry[] },
    secrets: string[],
  ) {
    const path = encodePath`/v1/services/${serviceId}/deploy`;
    return this.data<DeploymentRecord>(
      this.http.request({ method: "POST", path, body: input, secrets }),
      "POST",
      path,
      ["id", "status", "created_at"],
    );
  }

  /** The service, which must say what it runs: `active_deployment_id` (or `latest_deployment_id`), null if nothing. */
  async getService(serviceId: string): Promise<ServiceRecord> {
    const path = encodePath`/v1/services/${serviceId}`;
    const res = await this.http.request({ method: "GET", path });
    const service = await this.data<ServiceRecord>(res, "GET", path, ["id"]);
    if (!("active_deployment_id" in service) && !("latest_deployment_id" in service)) {
      // A 200 that does not say what runs: an error (state kept), never "nothing runs".
      throw this.http.badAnswer("GET", path, res, "the response lacks `active_deployment_id`");
    }
    return service;
  }

  getDeployment(serviceId: string, deploymentId: string) {
    const path = encodePath`/v1/services/${serviceId}/deployments/${deploymentId}`;
    return this.data<DeploymentRecord>(this.http.request({ method: "GET", path }), "GET", path, [
      "id",
      "status",
    ]);
  }

  async listDeployments(serviceId: string, q: { page?: number; page_size?: number } = {}) {
    const res = await this.http.request<{ data: DeploymentRecord[]; pagination: Pagination }>({
      method: "GET",
      path: encodePath`/v1/services/${serviceId}/deployments`,
      query: q,
    });
    return res.body;
  }

  async listConnections(q: {
    project_id: string;
    type?: string;
    include_system?: boolean;
    page?: number;
    page_size?: number;
  }) {
    const path = "/v1/connections";
    const res = await this.http.request<{ data: ConnectionRecord[]; pagination: Pagination }>({
      method: "GET",
      path,
      query: q,
    });
    return res.body;
  }
}

/**
 * A client for management calls, built from the settings in force now (stack config, then environment).
 * Fails before any request when the credential is missing or is an Access Key.
 */
export function dynamiqClient(
  overrides: ClientOverrides = {},
  settings: PlatformSettings = dynamiqSettings(),
): DynamiqClient {
  requirePersonalAccessToken(settings);
  return new DynamiqClient(platformHttp(settings, (token) => `Bearer ${token}`, overrides));
}

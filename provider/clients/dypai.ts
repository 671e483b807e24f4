// The DYPAI client for backend secrets of an engine. The platform's document names the endpoint
// (`/api/engine/{id}/secrets`) and the rules (write-only: overwrite or delete, never read back); the request and
// response shapes are not public and are assumed (emulator/README.md, "DYPAI").
import { encodePath, platformHttp, type ClientOverrides, type HttpClient } from "../http";
import { dypaiSettings, type PlatformSettings } from "../settings";

/** What the API shows of a secret: never its value. */
export interface SecretMeta {
  name: string;
  /** Increases on every write and is never reused (assumed). */
  version: number;
  created_at?: string;
  updated_at?: string;
}

export type DeleteOutcome = "deleted" | "gone" | "version_mismatch";

export class DypaiClient {
  constructor(readonly http: HttpClient) {}

  private meta(
    method: string,
    path: string,
    res: { status: number; requestId?: string; body: unknown },
  ): SecretMeta {
    const b = res.body as Partial<SecretMeta> | undefined;
    if (!b || typeof b !== "object" || typeof b.name !== "string" || typeof b.version !== "number") {
      throw this.http.badAnswer(
        method,
        path,
        res,
        "the answer is not a secret's metadata {name, version, ...}",
      );
    }
    return b as SecretMeta;
  }

  /** Creates or overwrites (an idempotent PUT: writing the same value twice leaves the same value). */
  async putSecret(engineId: string, name: string, value: string): Promise<SecretMeta> {
    const path = encodePath`/api/engine/${engineId}/secrets/${name}`;
    const res = await this.http.request({ method: "PUT", path, body: { value }, secrets: [value] });
    return this.meta("PUT", path, res);
  }

  /** The metadata of one secret; NotFoundError when the platform confirms it does not exist (404/410). */
  async getSecret(engineId: string, name: string): Promise<SecretMeta> {
    const path = encodePath`/api/engine/${engineId}/secrets/${name}`;
    const res = await this.http.request({ method: "GET", path });
    return this.meta("GET", path, res);
  }

  async listSecrets(engineId: string): Promise<SecretMeta[]> {
    const path = encodePath`/api/engine/${engineId}/secrets`;
    const res = await this.http.request<{ secrets?: SecretMeta[] }>({ method: "GET", path });
    return res.body?.secrets ?? [];
  }

  /**
   * Deletes a secret only while it is still at `version` (the platform answers 409 `version_mismatch`
   * otherwise). 404/410 means it was already gone.
   */
  async deleteSecret(engineId: string, name: string, version?: number): Promise<DeleteOutcome> {
    const res = await this.http.request({
      method: "DELETE",
      path: encodePath`/api/engine/${engineId}/secrets/${name}`,
      query: { version },
      accept: [404, 409, 410],
    });
    if (res.status === 409) return "version_mismatch";
    if (res.status === 404 || res.status === 410) return "gone";
    return "deleted";
  }
}

/** A client built from the settings in force now (`Authorization: Bearer <token>`, assumed). */
export function dypaiClient(
  overrides: ClientOverrides = {},
  settings: PlatformSettings = dypaiSettings(),
): DypaiClient {
  return new DypaiClient(platformHttp(settings, (token) => `Bearer ${token}`, overrides));
}

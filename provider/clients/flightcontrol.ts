// The Flightcontrol API client (https://api.flightcontrol.dev), for service env variables. The POST and the run
// status endpoint follow the platform's document (shared/seeds/flightcontrol-env-variables-api.txt); the
// read-back and the delete are not public and are assumed (emulator/README.md, "Flightcontrol").
import { encodePath, platformHttp, type ClientOverrides, type HttpClient } from "../http";
import { flightcontrolSettings, type PlatformSettings } from "../settings";
import type { ServiceEnvVariablesInputs } from "../resources/service-env-variables";

/** The six groups of the documented POST. */
export const FC_GROUPS = [
  "plainText",
  "parameterStore",
  "secretsManager",
  "fromParameterStore",
  "fromSecretsManager",
  "fromService",
] as const;
export type FcGroup = (typeof FC_GROUPS)[number];

/** FC-managed secrets: stored by an asynchronous run, their values are secrets. */
export const FC_SECRET_GROUPS = ["parameterStore", "secretsManager"] as const;

export interface ServiceReference {
  /** The id of the service the value comes from. */
  id: string;
  /** The property of that service, e.g. `connectionString`. */
  value: string;
}

/** The body of a save: the variable groups of a ServiceEnvVariables resource (declared there), by name. */
export type EnvVariablesBody = Omit<ServiceEnvVariablesInputs, "serviceId" | "timeoutSeconds">;

/** 200: everything saved synchronously; 202: FC-managed secrets are being stored by run `runId`. */
export type SaveResult =
  | { status: "completed"; savedCount: number }
  | { status: "processing"; runId: string; savedCount: number; processingCount: number };

/** The documented status answer. */
export interface RunStatus {
  isFinished: boolean;
  processedEnvVariables: number;
  totalExpectedEnvVars: number;
  /** Stored FC-managed secrets with their AWS reference, e.g. `{DB_PASSWORD: {fromParameterStore: "/fc/..."}}`. */
  storedEnvVariables: Record<string, Record<string, string>>;
  /** Variables that failed to store; the shape of each entry is not documented. */
  failedEnvVariables: Record<string, unknown>;
}

/** One variable as the (assumed) read-back endpoint shows it: FC-managed secrets without value. */
export interface RemoteVariable {
  type: FcGroup;
  value?: string | ServiceReference;
  /** For FC-managed secrets: the parameter path or secret ARN Flightcontrol created. */
  reference?: string;
  updatedAt?: string;
}

export class FlightcontrolClient {
  constructor(readonly http: HttpClient) {}

  /**
   * One POST with every group of a change set. Writing the same values again has the same effect, so a lost
   * answer may be retried (a second run supersedes the first).
   */
  async saveEnvVariables(serviceId: string, body: EnvVariablesBody, secrets: string[]): Promise<SaveResult> {
    const path = encodePath`/v1/services/${serviceId}/env-variables`;
    const res = await this.http.request<Record<string, unknown>>({
      method: "POST",
      path,
      body,
      secrets,
      idempotent: true,
    });
    const b = res.body ?? {};
    if (res.status === 202 || b.status === "processing") {
      if (typeof b.runId !== "string" || b.runId === "") {
        throw this.http.badAnswer("POST", path, res, "a 202 answer without a runId");
      }
      return {
        status: "processing",
        runId: b.runId,
        savedCount: Number(b.savedCount ?? 0),
        processingCount: Number(b.processingCount ?? 0),
      };
    }
    if (b.status !== "completed") {
      throw this.http.badAnswer("POST", path, res, "the answer has neither status completed nor processing");
    }
    return { status: "completed", savedCount: Number(b.savedCount ?? 0) };
  }

  async runStatus(serviceId: string, runId: string): Promise<RunStatus> {
    const path = encodePath`/v1/services/${serviceId}/env-variables/status`;
    const res = await this.http.request<Partial<RunStatus>>({ method: "GET", path, query: { runId } });
    const b = res.body;
    if (!b || typeof b !== "object" || typeof b.isFinished !== "boolean") {
      throw this.http.badAnswer("GET", path, res, "the status answer has no isFinished");
    }
    return {
      isFinished: b.isFinished,
      processedEnvVariables: Number(b.processedEnvVariables ?? 0),
      totalExpectedEnvVars: Number(b.totalExpectedEnvVars ?? 0),
      storedEnvVariables: (b.storedEnvVariables ?? {}) as RunStatus["storedEnvVariables"],
      failedEnvVariables: (b.failedEnvVariables ?? {}) as RunStatus["failedEnvVariables"],
    };
  }

  /** Assumed endpoint: every variable of the service, secret values left out. */
  async listEnvVariables(serviceId: string): Promise<Record<string, RemoteVariable>> {
    const path = encodePath`/v1/services/${serviceId}/env-variables`;
    const res = await this.http.request<{ envVariables?: Record<string, RemoteVariable> }>({
      method: "GET",
      path,
    });
    const vars = res.body?.envVariables;
    if (!vars || typeof vars !== "object" || Array.isArray(vars)) {
      throw this.http.badAnswer("GET", path, res, "the answer has no envVariables object");
    }
    return vars;
  }

  /** Assumed endpoint. Resolves also when the variable was already gone (404/410). */
  deleteEnvVariable(serviceId: string, name: string): Promise<void> {
    return this.http.remove({ path: encodePath`/v1/services/${serviceId}/env-variables/${name}` });
  }
}

/**
 * A client built from the settings in force now. The header is `Authorization: Bearer: <key>`, with the colon,
 * exactly as every example of the platform's document writes it.
 */
export function flightcontrolClient(
  overrides: ClientOverrides = {},
  settings: PlatformSettings = flightcontrolSettings(),
): FlightcontrolClient {
  return new FlightcontrolClient(platformHttp(settings, (key) => `Bearer: ${key}`, overrides));
}

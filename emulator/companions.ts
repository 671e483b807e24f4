// Records of the two companion stores the emulator also plays: Flightcontrol service env variables and DYPAI
// backend secrets. They live in the same state file as the Dynamiq records, in their own sections.
import { randomBytes, randomUUID } from "node:crypto";

import { randomAlnum } from "./secrets";

// ---------------------------------------------------------------------------------------------------------------
// Flightcontrol
// ---------------------------------------------------------------------------------------------------------------

/** The six groups of `POST /v1/services/{serviceId}/env-variables` (documented). */
export const FC_GROUPS = [
  "plainText",
  "parameterStore",
  "secretsManager",
  "fromParameterStore",
  "fromSecretsManager",
  "fromService",
] as const;
export type FcGroup = (typeof FC_GROUPS)[number];

/** The FC-managed groups: stored asynchronously by a workflow run (documented). */
export const FC_ASYNC_GROUPS: readonly FcGroup[] = ["parameterStore", "secretsManager"];

export type FcValue = string | { id: string; value: string };

/** One variable of a service. `value` of FC-managed secrets is what "AWS" holds: never returned by the API. */
export interface FcVariableRecord {
  name: string;
  group: FcGroup;
  value: FcValue;
  /** For FC-managed secrets: the parameter path or secret ARN Flightcontrol created. */
  reference: string | null;
  updated_at: string;
}

export interface FcServiceRecord {
  id: string;
  name: string;
  created_at: string;
  /** Admin setting: how long an FC-managed secret run takes (spread over its variables). */
  async_delay_ms: number;
  /** Admin setting: variable name -> failure message, for the next run that carries that name. */
  fail_next: Record<string, string>;
  variables: FcVariableRecord[];
  seq: number;
}

export type FcRunItemState = "pending" | "stored" | "failed";

export interface FcRunItem {
  name: string;
  group: "parameterStore" | "secretsManager";
  /** The secret value until the item is processed; cleared afterwards. */
  value: string | null;
  state: FcRunItemState;
  /** Armed failure message (from fail_next), applied when the item is processed. */
  planned_failure: string | null;
  reference: string | null;
  error: string | null;
  /** Epoch ms at which the item is processed. */
  due_at: number;
}

export interface FcRunRecord {
  id: string;
  service_id: string;
  created_at: string;
  items: FcRunItem[];
  seq: number;
}

export interface FlightcontrolData {
  services: FcServiceRecord[];
  runs: FcRunRecord[];
}

/** Default duration of an FC-managed secret run. */
export const DEFAULT_FC_ASYNC_DELAY_MS = 60;

// ---------------------------------------------------------------------------------------------------------------
// DYPAI
// ---------------------------------------------------------------------------------------------------------------

export interface DypaiProjectRecord {
  id: string;
  name: string;
  /** The per-project Fernet key (urlsafe base64 of 32 bytes). */
  fernet_key: string;
}

export interface DypaiEngineRecord {
  id: string;
  project_id: string;
  name: string;
  created_at: string;
}

export interface DypaiSecretRecord {
  engine_id: string;
  name: string;
  /** Fernet token of the value under the engine's project key. */
  ciphertext: string;
  /** Increases on every write and is never reused, not even after a delete and re-create. */
  version: number;
  created_at: string;
  updated_at: string;
}

export interface DypaiData {
  projects: DypaiProjectRecord[];
  engines: DypaiEngineRecord[];
  secrets: DypaiSecretRecord[];
}

// ---------------------------------------------------------------------------------------------------------------
// Seed
// ---------------------------------------------------------------------------------------------------------------

/** Fixed ids and credentials of the companion seeds; `/_admin/reset` keeps them. */
export interface CompanionSeed {
  flightcontrolServiceId: string;
  /** Emulator-only fixture: the Flightcontrol API key in plaintext, so that a restart prints the same seed. */
  flightcontrol_api_key_emulator_fixture: string;
  dypaiProjectId: string;
  dypaiEngineId: string;
  /** Emulator-only fixture: the DYPAI token in plaintext. */
  dypai_token_emulator_fixture: string;
  /** Emulator-only fixture: the seeded project's Fernet key. */
  dypai_fernet_key_emulator_fixture: string;
}

/** A Flightcontrol-style id: a cuid-like `c` + 24 lowercase letters and digits (assumed). */
export function cuid(): string {
  return "c" + randomAlnum(24).toLowerCase();
}

export function newFernetKey(): string {
  return randomBytes(32).toString("base64url");
}

export function newCompanionSeed(): CompanionSeed {
  return {
    flightcontrolServiceId: cuid(),
    flightcontrol_api_key_emulator_fixture: "fc_" + randomAlnum(40),
    dypaiProjectId: randomUUID(),
    dypaiEngineId: randomUUID(),
    dypai_token_emulator_fixture: "dypai_" + randomAlnum(48),
    dypai_fernet_key_emulator_fixture: newFernetKey(),
  };
}

export function freshFlightcontrol(seed: CompanionSeed, createdAt: string): FlightcontrolData {
  return {
    services: [
      {
        id: seed.flightcontrolServiceId,
        name: "web",
        created_at: createdAt,
        async_delay_ms: DEFAULT_FC_ASYNC_DELAY_MS,
        fail_next: {},
        variables: [],
        seq: 1,
      },
    ],
    runs: [],
  };
}

export function freshDypai(seed: CompanionSeed, createdAt: string): DypaiData {
  return {
    projects: [
      { id: seed.dypaiProjectId, name: "project", fernet_key: seed.dypai_fernet_key_emulator_fixture },
    ],
    engines: [
      { id: seed.dypaiEngineId, project_id: seed.dypaiProjectId, name: "engine", created_at: createdAt },
    ],
    secrets: [],
  };
}

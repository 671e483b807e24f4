import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

import {
  freshDypai,
  freshFlightcontrol,
  newCompanionSeed,
  type CompanionSeed,
  type DypaiData,
  type FlightcontrolData,
} from "./companions";
import { PAT_PREFIX, fingerprint, newSecret, preview } from "./secrets";

// ---------------------------------------------------------------------------------------------------------------
// Records. These are the emulator's "database rows"; what the API returns is built from them in routes/.
// Credentials keep only a SHA-512 fingerprint and a preview, never the secret.
// ---------------------------------------------------------------------------------------------------------------

export interface UserRecord {
  id: string;
  email: string;
  name: string;
}

export interface OrgRecord {
  id: string;
  name: string;
  member_ids: string[];
}

export interface ProjectRecord {
  id: string;
  org_id: string;
  name: string;
}

export type ConnectionStatus = "active" | "incomplete" | "expired";

export interface ConnectionRecord {
  id: string;
  name: string;
  project_id: string;
  type: string;
  status: ConnectionStatus;
  /** The full config including secret fields ("encrypted at rest" on the platform). */
  config: Record<string, unknown>;
  is_system: boolean;
  created_at: string;
  updated_at: string;
  /** Admin flag: DELETE answers 409 `connection_in_use` while set. */
  in_use: boolean;
  /** OAuth state of the pending consent (never returned by the API). */
  oauth_state: string | null;
  /** OAuth tokens after consent (never returned by GET; part of /credentials). */
  oauth_access_token: string | null;
  seq: number;
}

export interface AccessKeyRecord {
  id: string;
  name: string;
  org_id: string;
  project_id: string | null;
  preview: string;
  fingerprint: string;
  expires_at: string | null;
  created_at: string;
  created_by: string;
  seq: number;
}

export interface PatRecord {
  id: string;
  name: string;
  user_id: string;
  preview: string;
  fingerprint: string;
  expires_at: string | null;
  created_at: string;
  legacy: boolean;
  seq: number;
}

export interface ServiceRecord {
  id: string;
  name: string;
  project_id: string;
  created_at: string;
  /** Admin setting: how long a deployment stays `in_progress`. */
  deploy_delay_ms: number;
  /** Admin setting: when set, the next deployment fails with this message. */
  fail_next_deploy: string | null;
  seq: number;
}

export type DeploymentStatus = "in_progress" | "succeeded" | "failed";

export interface DeploymentRecord {
  id: string;
  service_id: string;
  image: string;
  resources: Record<string, unknown> | null;
  /** Plain variables, in the order given (they go on the container spec). */
  plain_env: Array<{ name: string; value: string }>;
  /** Names of the secret variables; the values live in `deployment_secrets` (the "Kubernetes Secret"). */
  secret_env_names: string[];
  /** User-supplied reserved names that were ignored. */
  ignored_env_names: string[];
  status: DeploymentStatus;
  created_at: string;
  finished_at: string | null;
  message: string | null;
  /** When this deployment was armed to fail: the message it will fail with. */
  planned_failure: string | null;
  seq: number;
}

/** The per-deployment secret object: user secrets plus the injected reserved variables. */
export interface DeploymentSecretRecord {
  deployment_id: string;
  values: Record<string, string>;
  service_token_expires_at: string;
}

/** The fixed ids of the seed; `/_admin/reset` rebuilds the same seed from them. */
export interface SeedIds {
  userId: string;
  otherUserId: string;
  orgId: string;
  projectId: string;
  otherOrgId: string;
  otherProjectId: string;
  serviceId: string;
  systemConnectionId: string;
  bootstrapPatId: string;
  bootstrapPatCreatedAt: string;
}

/** Emulator-only fixtures. The bootstrap PAT plaintext is kept so a restart can print the same seed. */
export interface Fixtures {
  bootstrap_pat_plaintext_emulator_fixture: string;
}

export interface StateData {
  version: 1;
  seed: SeedIds;
  fixtures: Fixtures;
  seq: number;
  users: UserRecord[];
  orgs: OrgRecord[];
  projects: ProjectRecord[];
  connections: ConnectionRecord[];
  access_keys: AccessKeyRecord[];
  personal_access_tokens: PatRecord[];
  services: ServiceRecord[];
  deployments: DeploymentRecord[];
  deployment_secrets: DeploymentSecretRecord[];
  /** Ids and fixtures of the Flightcontrol and DYPAI seeds (added later: filled in when an older file loads). */
  companions: CompanionSeed;
  flightcontrol: FlightcontrolData;
  dypai: DypaiData;
}

/** Default delay before an `in_progress` deployment finishes. */
export const DEFAULT_DEPLOY_DELAY_MS = 50;

/**
 * Timestamps as the emulator writes them: UTC RFC 3339, milliseconds only when non-zero
 * (`2026-12-31T00:00:00Z`, `2026-11-22T13:19:50.814Z`). Assumed format.
 */
export function isoTime(ms: number = Date.now()): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

function nowIso(): string {
  return isoTime();
}

function newSeedIds(): { seed: SeedIds; fixtures: Fixtures } {
  return {
    seed: {
      userId: randomUUID(),
      otherUserId: randomUUID(),
      orgId: randomUUID(),
      projectId: randomUUID(),
      otherOrgId: randomUUID(),
      otherProjectId: randomUUID(),
      serviceId: randomUUID(),
      systemConnectionId: randomUUID(),
      bootstrapPatId: randomUUID(),
      bootstrapPatCreatedAt: nowIso(),
    },
    fixtures: { bootstrap_pat_plaintext_emulator_fixture: newSecret(PAT_PREFIX) },
  };
}

/** A fresh world built from fixed seed ids. */
function freshState(seed: SeedIds, fixtures: Fixtures, companions: CompanionSeed): StateData {
  const t = seed.bootstrapPatCreatedAt;
  const pat = fixtures.bootstrap_pat_plaintext_emulator_fixture;
  return {
    version: 1,
    seed,
    fixtures,
    companions,
    flightcontrol: freshFlightcontrol(companions, t),
    dypai: freshDypai(companions, t),
    seq: 10,
    users: [
      { id: seed.userId, email: "developer@example.com", name: "Emulator Developer" },
      { id: seed.otherUserId, email: "other@example.com", name: "Other User" },
    ],
    orgs: [
      { id: seed.orgId, name: "Org A", member_ids: [seed.userId] },
      { id: seed.otherOrgId, name: "Org B", member_ids: [seed.otherUserId] },
    ],
    projects: [
      { id: seed.projectId, org_id: seed.orgId, name: "Project A" },
      { id: seed.otherProjectId, org_id: seed.otherOrgId, name: "Project B" },
    ],
    connections: [
      {
        id: seed.systemConnectionId,
        name: "dynamiq-managed-llm",
        project_id: seed.projectId,
        type: "dynamiq.connections.OpenAI",
        status: "active",
        config: { api_key: "system-managed-not-a-real-key" },
        is_system: true,
        created_at: t,
        updated_at: t,
        in_use: false,
        oauth_state: null,
        oauth_access_token: null,
        seq: 1,
      },
    ],
    access_keys: [],
    personal_access_tokens: [
      {
        id: seed.bootstrapPatId,
        name: "bootstrap",
        user_id: seed.userId,
        preview: preview(pat, PAT_PREFIX),
        fingerprint: fingerprint(pat),
        expires_at: null,
        created_at: t,
        legacy: false,
        seq: 2,
      },
    ],
    services: [
      {
        id: seed.serviceId,
        name: "qa-service",
        project_id: seed.projectId,
        created_at: t,
        deploy_delay_ms: DEFAULT_DEPLOY_DELAY_MS,
        fail_next_deploy: null,
        seq: 3,
      },
    ],
    deployments: [],
    deployment_secrets: [],
  };
}

const COLLECTIONS = [
  "users",
  "orgs",
  "projects",
  "connections",
  "access_keys",
  "personal_access_tokens",
  "services",
  "deployments",
  "deployment_secrets",
] as const;

function assertStateShape(value: unknown, file: string): asserts value is StateData {
  const v = value as Partial<StateData> | null;
  const ok =
    v !== null &&
    typeof v === "object" &&
    v.version === 1 &&
    typeof v.seed === "object" &&
    typeof v.fixtures?.bootstrap_pat_plaintext_emulator_fixture === "string" &&
    COLLECTIONS.every((c) => Array.isArray(v[c]));
  if (!ok) throw new Error(`emulator state file ${file} is not a version 1 emulator state`);
}

/**
 * The in-memory model. Every mutation goes through a method that ends with `commit()`, which writes the whole
 * state atomically (temp file + rename) when a state path is set.
 */
export class Store {
  private state: StateData;

  private constructor(
    state: StateData,
    private readonly statePath: string | undefined,
  ) {
    this.state = state;
  }

  /** Loads `statePath` when it exists, else builds a new seed (and writes it when a path is given). */
  static open(statePath?: string): Store {
    if (statePath && fs.existsSync(statePath)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(fs.readFileSync(statePath, "utf8"));
      } catch {
        // The parser's message quotes the file, which holds fixtures and connection configs.
        throw new Error(`emulator state file ${statePath} is not valid JSON`);
      }
      assertStateShape(parsed, statePath);
      // State files written before the companion stores existed get their seeds now.
      const state = parsed as StateData;
      state.companions ??= newCompanionSeed();
      state.flightcontrol ??= freshFlightcontrol(state.companions, state.seed.bootstrapPatCreatedAt);
      state.dypai ??= freshDypai(state.companions, state.seed.bootstrapPatCreatedAt);
      return new Store(state, statePath);
    }
    const { seed, fixtures } = newSeedIds();
    const store = new Store(freshState(seed, fixtures, newCompanionSeed()), statePath);
    store.commit();
    return store;
  }

  get seed(): SeedIds {
    return this.state.seed;
  }

  get bootstrapPat(): string {
    return this.state.fixtures.bootstrap_pat_plaintext_emulator_fixture;
  }

  /** Back to the seed: same ids, same bootstrap PAT. */
  reset(): void {
    this.state = freshState(this.state.seed, this.state.fixtures, this.state.companions);
    this.commit();
  }

  /** Ids and fixtures of the Flightcontrol and DYPAI seeds. */
  get companions(): CompanionSeed {
    return this.state.companions;
  }
  get flightcontrol(): FlightcontrolData {
    return this.state.flightcontrol;
  }
  get dypai(): DypaiData {
    return this.state.dypai;
  }

  nextSeq(): number {
    this.state.seq += 1;
    return this.state.seq;
  }

  /** Persists the state (atomically) when a state path is configured. */
  commit(): void {
    if (!this.statePath) return;
    const dir = path.dirname(path.resolve(this.statePath));
    fs.mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `.${path.basename(this.statePath)}.${process.pid}.${randomUUID()}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(this.state, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(tmp, this.statePath);
  }

  // --- collections (live arrays; mutate then commit) ---

  get users(): UserRecord[] {
    return this.state.users;
  }
  get orgs(): OrgRecord[] {
    return this.state.orgs;
  }
  get projects(): ProjectRecord[] {
    return this.state.projects;
  }
  get connections(): ConnectionRecord[] {
    return this.state.connections;
  }
  get accessKeys(): AccessKeyRecord[] {
    return this.state.access_keys;
  }
  get pats(): PatRecord[] {
    return this.state.personal_access_tokens;
  }
  get services(): ServiceRecord[] {
    return this.state.services;
  }
  get deployments(): DeploymentRecord[] {
    return this.state.deployments;
  }
  get deploymentSecrets(): DeploymentSecretRecord[] {
    return this.state.deployment_secrets;
  }

  // --- lookups ---

  user(id: string): UserRecord | undefined {
    return this.state.users.find((u) => u.id === id);
  }
  org(id: string): OrgRecord | undefined {
    return this.state.orgs.find((o) => o.id === id);
  }
  project(id: string): ProjectRecord | undefined {
    return this.state.projects.find((p) => p.id === id);
  }
  connection(id: string): ConnectionRecord | undefined {
    return this.state.connections.find((c) => c.id === id);
  }
  accessKey(id: string): AccessKeyRecord | undefined {
    return this.state.access_keys.find((k) => k.id === id);
  }
  accessKeyByFingerprint(fp: string): AccessKeyRecord | undefined {
    return this.state.access_keys.find((k) => k.fingerprint === fp);
  }
  pat(id: string): PatRecord | undefined {
    return this.state.personal_access_tokens.find((t) => t.id === id);
  }
  patByFingerprint(fp: string): PatRecord | undefined {
    return this.state.personal_access_tokens.find((t) => t.fingerprint === fp);
  }
  service(id: string): ServiceRecord | undefined {
    return this.state.services.find((s) => s.id === id);
  }
  deployment(id: string): DeploymentRecord | undefined {
    return this.state.deployments.find((d) => d.id === id);
  }
  deploymentSecret(deploymentId: string): DeploymentSecretRecord | undefined {
    return this.state.deployment_secrets.find((s) => s.deployment_id === deploymentId);
  }

  /** Removes one record by id from a collection; true when something was removed. */
  remove<K extends "connections" | "access_keys" | "personal_access_tokens" | "deployments">(
    collection: K,
    id: string,
  ): boolean {
    const list = this.state[collection] as Array<{ id: string }>;
    const index = list.findIndex((r) => r.id === id);
    if (index < 0) return false;
    list.splice(index, 1);
    if (collection === "deployments") {
      this.state.deployment_secrets = this.state.deployment_secrets.filter((s) => s.deployment_id !== id);
    }
    this.commit();
    return true;
  }

  isMember(userId: string, orgId: string): boolean {
    return this.org(orgId)?.member_ids.includes(userId) ?? false;
  }

  /** Deployments of a service, newest first. */
  deploymentsOf(serviceId: string): DeploymentRecord[] {
    return this.state.deployments.filter((d) => d.service_id === serviceId).sort((a, b) => b.seq - a.seq);
  }
}

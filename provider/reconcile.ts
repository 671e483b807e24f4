// Creates that never leave an unaccounted-for object behind. A POST that creates a platform object is never
// repeated blindly (http.ts); when its answer is lost (connection reset, timeout, a 5xx, a body we cannot read)
// the object may or may not exist. This module finds out by listing the objects of that name and scope
// created within the attempt's time window, then either REVOKES them and creates again (credentials: their
// secret was shown once, in the answer that was lost, so nobody can ever use them) or ADOPTS the one found
// (deployments and connections: nothing secret is lost). See docs/faults.md.
//
// A run killed between the POST and the state write leaves the same kind of object behind, in a later run.
// Before each create, a small intent journal (one file per attempt, written before the POST, removed once the
// answer is known) tells the next run's create of the same kind, name and scope when an unrecorded attempt was
// made; the same window search then revokes or adopts what that attempt left.
import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ApiError, ProviderError, TransportError } from "./errors";

/** Clock skew tolerated between us and the platform's `created_at`. */
export const SKEW_MS = 60_000;
/** How long after its start an unrecorded attempt may have taken effect (request timeout + retries). */
export const STALE_WINDOW_MS = 5 * 60_000;
/** Attempts of one create whose answers are lost before giving up with an error. */
export const MAX_CREATE_ATTEMPTS = 3;

interface IntentRecord {
  kind: string;
  name: string;
  scope: string;
  startedAt: number;
  pid: number;
  /** The process's start time in clock ticks since boot (Linux), so a reused pid is not mistaken for it. */
  pidStart?: number;
}

/** Ids this process created and returned: never treated as orphans (same-name siblings in one run). */
const createdHere = new Set<string>();
/** Journal files of attempts in flight in this process. */
const ownIntents = new Set<string>();

/** What happened during reconciliation; tests read it, nothing secret. */
export const reconcileLog: Array<{
  kind: string;
  action: "revoked" | "adopted" | "none";
  id?: string;
  why: string;
}> = [];

/** The intent journal directory: DYNAMIQ_PROVIDER_JOURNAL (a directory, or `off`), else ~/.pulumi-dynamiq/journal. */
export function journalDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env.DYNAMIQ_PROVIDER_JOURNAL;
  if (v === "off") return undefined;
  return v && v.length > 0 ? v : path.join(os.homedir(), ".pulumi-dynamiq", "journal");
}

function keyOf(kind: string, name: string, scope: string): string {
  return createHash("sha256").update(`${kind}\u0000${name}\u0000${scope}`).digest("hex").slice(0, 24);
}

/** Directories this process has created already (mkdir once, not before every POST). */
const readyDirs = new Set<string>();
let ownStart: number | undefined | null = null;

function beginIntent(kind: string, name: string, scope: string): () => void {
  const dir = journalDir();
  if (!dir) return () => undefined;
  const file = path.join(dir, `${keyOf(kind, name, scope)}-${randomUUID()}.json`);
  try {
    if (!readyDirs.has(dir)) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      readyDirs.add(dir);
    }
    if (ownStart === null) ownStart = procStat(process.pid)?.start;
    const rec: IntentRecord = {
      kind,
      name,
      scope,
      startedAt: Date.now(),
      pid: process.pid,
      pidStart: ownStart,
    };
    fs.writeFileSync(file, JSON.stringify(rec), { mode: 0o600 });
    ownIntents.add(file);
  } catch {
    // Best effort: without a journal, only the lost answers of this run are reconciled.
    readyDirs.delete(dir);
  }
  return () => {
    if (!ownIntents.delete(file)) return;
    try {
      fs.unlinkSync(file);
    } catch {
      // already gone
    }
  };
}

/** State letter and start time of a process from /proc (Linux); undefined where /proc is not there. */
function procStat(pid: number): { state: string; start: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // "pid (comm) S ppid ...": comm may hold spaces and parentheses, so split after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0], start: Number(fields[19]) };
}

/**
 * Whether the process that wrote an intent is still running. A killed run's processes can linger as zombies
 * where nothing reaps orphans (PID 1 of many CI containers), and kill(pid, 0) succeeds on a zombie; so on Linux
 * a zombie, or a pid now held by a process started later, counts as gone.
 */
export function processAlive(pid: number, pidStart?: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (!fs.existsSync("/proc/self/stat")) return true;
  const stat = procStat(pid);
  if (!stat) return false; // gone between the two looks
  if (stat.state === "Z" || stat.state === "X") return false;
  return pidStart === undefined || stat.start === pidStart;
}

/**
 * Journal files left before this process's first create, by key. Interrupted runs ended before this one
 * started, so one listing per process and directory is enough (a create used to list the directory before every
 * POST); an intent removed since is skipped when it cannot be read.
 */
const listings = new Map<string, Map<string, string[]>>();

function leftBefore(dir: string, key: string): string[] {
  let byKey = listings.get(dir);
  if (!byKey) {
    byKey = new Map();
    let files: string[] = [];
    try {
      files = fs.readdirSync(dir);
    } catch {
      // no journal yet
    }
    for (const f of files) {
      const k = f.slice(0, f.indexOf("-"));
      byKey.set(k, [...(byKey.get(k) ?? []), path.join(dir, f)]);
    }
    listings.set(dir, byKey);
  }
  return byKey.get(key) ?? [];
}

/** Attempts of earlier, interrupted runs for this kind, name and scope (their process is gone). */
function staleIntents(kind: string, name: string, scope: string): Array<IntentRecord & { file: string }> {
  const dir = journalDir();
  if (!dir) return [];
  const out: Array<IntentRecord & { file: string }> = [];
  for (const file of leftBefore(dir, keyOf(kind, name, scope))) {
    if (ownIntents.has(file)) continue;
    try {
      const rec = JSON.parse(fs.readFileSync(file, "utf8")) as IntentRecord;
      if (rec.kind !== kind || rec.name !== name || rec.scope !== scope) continue;
      if (rec.pid === process.pid || processAlive(rec.pid, rec.pidStart)) continue; // still being worked on
      out.push({ ...rec, file });
    } catch {
      // gone since the listing, or unreadable: leave it
    }
  }
  return out;
}

/** True when a failed create may nevertheless have created the object. */
export function answerLost(e: unknown): boolean {
  if (e instanceof TransportError) return true;
  return e instanceof ApiError && e.status >= 500;
}

export interface ReconcileSpec<R extends { id: string; created_at?: string | null }> {
  kind: string;
  name: string;
  /** What else identifies the object besides its name (org/project, service...). */
  scope: string;
  /** The POST. */
  create: () => Promise<R>;
  /**
   * Objects of this name and scope; filtered by creation time here. `since` is the earliest creation time
   * (epoch ms) that can matter, so a list ordered newest first can stop at the first older object.
   */
  candidates: (since: number) => Promise<R[]>;
  /** `revoke`: delete what was found and create again. `adopt`: take the object found. */
  resolve: "revoke" | "adopt";
  revoke?: (rec: R) => Promise<void>;
}

function within(rec: { created_at?: string | null }, from: number, to: number): boolean {
  const t = rec.created_at ? Date.parse(rec.created_at) : NaN;
  return Number.isFinite(t) && t >= from - SKEW_MS && t <= to + SKEW_MS;
}

async function settle<R extends { id: string; created_at?: string | null }>(
  spec: ReconcileSpec<R>,
  from: number,
  to: number,
  why: string,
): Promise<R | undefined> {
  const found = (await spec.candidates(from - SKEW_MS)).filter(
    (r) => !createdHere.has(r.id) && within(r, from, to),
  );
  if (found.length === 0) {
    reconcileLog.push({ kind: spec.kind, action: "none", why });
    return undefined;
  }
  if (spec.resolve === "adopt") {
    const pick = found.sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)))[0];
    reconcileLog.push({ kind: spec.kind, action: "adopted", id: pick.id, why });
    return pick;
  }
  for (const rec of found) {
    await spec.revoke!(rec);
    reconcileLog.push({ kind: spec.kind, action: "revoked", id: rec.id, why });
  }
  return undefined;
}

/**
 * Creates one object such that, whatever answers are lost, exactly one object of this attempt exists at the
 * end and the caller knows it (`adopted` says it came from a search rather than from the answer).
 */
export async function createReconciled<R extends { id: string; created_at?: string | null }>(
  spec: ReconcileSpec<R>,
): Promise<{ rec: R; adopted: boolean }> {
  // 1. What an interrupted earlier run may have left.
  for (const intent of staleIntents(spec.kind, spec.name, spec.scope)) {
    const rec = await settle(
      spec,
      intent.startedAt,
      intent.startedAt + STALE_WINDOW_MS,
      "an earlier run was interrupted during this create",
    );
    fs.rmSync(intent.file, { force: true });
    if (rec) {
      createdHere.add(rec.id);
      return { rec, adopted: true };
    }
  }
  // 2. The create itself, checked after every lost answer.
  let last: unknown;
  for (let attempt = 1; attempt <= MAX_CREATE_ATTEMPTS; attempt++) {
    const done = beginIntent(spec.kind, spec.name, spec.scope);
    const started = Date.now();
    try {
      const rec = await spec.create();
      createdHere.add(rec.id);
      done();
      return { rec, adopted: false };
    } catch (e) {
      if (!answerLost(e)) {
        done();
        throw e;
      }
      last = e;
      let rec: R | undefined;
      try {
        rec = await settle(spec, started, Date.now(), `the answer to the create was lost (${codeOf(e)})`);
      } catch (check) {
        // The intent stays in the journal: the next run looks again.
        throw new ProviderError(
          codeOf(check),
          `${(e as Error).message}; the ${spec.kind} "${spec.name}" may have been created, and looking for it failed too (${(check as Error).message}); the next run looks for it again`,
        );
      }
      done();
      if (rec) {
        createdHere.add(rec.id);
        return { rec, adopted: true };
      }
    }
  }
  throw last;
}

function codeOf(e: unknown): ProviderError["code"] {
  return ProviderError.is(e) ? e.code : "network";
}

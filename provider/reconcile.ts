// Creates that never leave an unaccounted-for object behind. A POST that creates a platform object is never
// repeated blindly (http.ts); when its answer is lost (connection reset, timeout, a 5xx, a body we cannot read)
// the object may or may not exist. This module finds out by listing the objects of that name and scope
// created within the attempt's time window, then either REVOKES them and creates again (credentials: their
// secret was shown once, in the answer that was lost, so nobody can ever use them) or ADOPTS the one found
// (deployments and connections: nothing secret is lost). See docs/faults.md.
//
// A run killed between the POST and the state write leaves the same kind of object behind, in a later run.
// Before each create, the intent journal (provider/journal.ts: a line before the POST, another once the answer
// is known) tells the next run's create of the same kind, name and scope when an unrecorded attempt was made;
// the same window search then revokes or adopts what that attempt left.
import { ApiError, ProviderError, TransportError } from "./errors";
import { exitIfEngineGone } from "./engine";
import { beginIntent, staleIntents } from "./journal";

export { journalDir, processAlive } from "./journal";

/** Clock skew tolerated between us and the platform's `created_at`. */
export const SKEW_MS = 60_000;
/** How long after its start an unrecorded attempt may have taken effect (request timeout + retries). */
export const STALE_WINDOW_MS = 5 * 60_000;
/** Attempts of one create whose answers are lost before giving up with an error. */
export const MAX_CREATE_ATTEMPTS = 3;

/** Ids this process created and returned: never treated as orphans (same-name siblings in one run). */
const createdHere = new Set<string>();

/** What happened during reconciliation; tests read it, nothing secret. */
export const reconcileLog: Array<{
  kind: string;
  action: "revoked" | "adopted" | "none";
  id?: string;
  why: string;
}> = [];

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
    intent.settled();
    if (rec) {
      createdHere.add(rec.id);
      return { rec, adopted: true };
    }
  }
  // 2. The create itself, checked after every lost answer.
  let last: unknown;
  for (let attempt = 1; attempt <= MAX_CREATE_ATTEMPTS; attempt++) {
    const done = beginIntent(spec.kind, spec.name, spec.scope);
    // Done only while an engine is there to record the object; else the next run settles it.
    const recorded = async () => {
      await exitIfEngineGone();
      done();
    };
    const started = Date.now();
    try {
      const rec = await spec.create();
      createdHere.add(rec.id);
      await recorded();
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
      if (!rec) {
        done();
        continue;
      }
      createdHere.add(rec.id);
      await recorded();
      return { rec, adopted: true };
    }
  }
  throw last;
}

function codeOf(e: unknown): ProviderError["code"] {
  return ProviderError.is(e) ? e.code : "network";
}

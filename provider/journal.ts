// The intent journal: what a run killed between a create's POST and the engine's state write leaves for the
// next run to settle (provider/reconcile.ts, docs/faults.md). Each process appends to one log of its own per
// journal directory: a `begin` line before the POST, a `done` line once the answer is known. Two small appends
// per create, where a file per attempt cost an open and an unlink in the host's one thread.
//
// The next run lists the directory once, at its first create. A log whose writer is gone is read: intents
// begun and never done are what an interrupted run may have left, claimed by the create of the same kind, name
// and scope. A log with nothing open is removed.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface Intent {
  kind: string;
  name: string;
  scope: string;
  /** When the attempt started (epoch ms). */
  startedAt: number;
}

/** An intent of an interrupted run, claimed by this process; `settled()` records that it was dealt with. */
export interface StaleIntent extends Intent {
  settled(): void;
}

/** The journal directory: DYNAMIQ_PROVIDER_JOURNAL (a directory, or `off`), else ~/.pulumi-dynamiq/journal. */
export function journalDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env.DYNAMIQ_PROVIDER_JOURNAL;
  if (v === "off") return undefined;
  return v && v.length > 0 ? v : path.join(os.homedir(), ".pulumi-dynamiq", "journal");
}

function keyOf(i: { kind: string; name: string; scope: string }): string {
  return `${i.kind}\u0000${i.name}\u0000${i.scope}`;
}

// ---- liveness of a log's writer ---------------------------------------------------------------------------

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
 * Whether the process that wrote a log is still running. A killed run's processes can linger as zombies where
 * nothing reaps orphans (PID 1 of many CI containers), and kill(pid, 0) succeeds on a zombie; so on Linux a
 * zombie, or a pid now held by a process started later, counts as gone.
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

// ---- this process's log -----------------------------------------------------------------------------------

interface OwnLog {
  fd: number;
  file: string;
  next: number;
  open: Set<number>;
}

const ownLogs = new Map<string, OwnLog>();

function ownLog(dir: string): OwnLog {
  let log = ownLogs.get(dir);
  if (log) return log;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${process.pid}-${randomUUID()}.log`);
  const fd = fs.openSync(file, "a", 0o600);
  fs.writeSync(fd, JSON.stringify({ pid: process.pid, pidStart: procStat(process.pid)?.start }) + "\n");
  log = { fd, file, next: 1, open: new Set() };
  if (ownLogs.size === 0) process.once("exit", closeOwnLogs);
  ownLogs.set(dir, log);
  return log;
}

/** At a normal exit, a log with nothing open is of no use to anyone. */
function closeOwnLogs(): void {
  for (const log of ownLogs.values()) {
    try {
      fs.closeSync(log.fd);
      if (log.open.size === 0) fs.unlinkSync(log.file);
    } catch {
      // best effort
    }
  }
  ownLogs.clear();
}

/**
 * Records an attempt before its POST; the function returned records that its answer is known. Best effort:
 * without a journal, only the lost answers of this run are reconciled.
 */
export function beginIntent(kind: string, name: string, scope: string): () => void {
  const dir = journalDir();
  if (!dir) return () => undefined;
  let log: OwnLog;
  let id: number;
  try {
    log = ownLog(dir);
    id = log.next++;
    fs.writeSync(log.fd, JSON.stringify({ begin: id, kind, name, scope, startedAt: Date.now() }) + "\n");
    log.open.add(id);
  } catch {
    return () => undefined;
  }
  return () => {
    if (!log.open.delete(id)) return;
    try {
      fs.writeSync(log.fd, JSON.stringify({ done: id }) + "\n");
    } catch {
      // the intent stays open: the next run looks for what it may have left, and finds it or nothing
    }
  };
}

// ---- logs of earlier runs ---------------------------------------------------------------------------------

interface DeadLog {
  file: string;
  open: Set<number>;
}

/** Per directory: open intents of dead writers by key, listed once per process (interrupted runs ended before). */
const listings = new Map<string, Map<string, Array<Intent & { id: number; log: DeadLog }>>>();

function readLog(file: string): { pid: number; pidStart?: number; open: Map<number, Intent> } | undefined {
  let lines: string[];
  try {
    lines = fs.readFileSync(file, "utf8").split("\n");
  } catch {
    return undefined;
  }
  let header: { pid: number; pidStart?: number } | undefined;
  const open = new Map<number, Intent>();
  for (const line of lines) {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // empty, or cut short by a kill: a begin line cut short was never followed by its POST
    }
    if (header === undefined && typeof rec.pid === "number") {
      header = { pid: rec.pid, pidStart: typeof rec.pidStart === "number" ? rec.pidStart : undefined };
    } else if (typeof rec.begin === "number") {
      const { kind, name, scope, startedAt } = rec;
      if (typeof kind === "string" && typeof name === "string" && typeof scope === "string")
        open.set(rec.begin, { kind, name, scope, startedAt: Number(startedAt) });
    } else if (typeof rec.done === "number") {
      open.delete(rec.done);
    }
  }
  return header && { ...header, open };
}

function listing(dir: string) {
  let byKey = listings.get(dir);
  if (byKey) return byKey;
  byKey = new Map();
  listings.set(dir, byKey);
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith(".log"));
  } catch {
    return byKey; // no journal yet
  }
  const own = ownLogs.get(dir)?.file;
  for (const f of files) {
    const file = path.join(dir, f);
    if (file === own) continue;
    const log = readLog(file);
    if (!log || processAlive(log.pid, log.pidStart)) continue; // unreadable, or a run still working
    if (log.open.size === 0) {
      fs.rmSync(file, { force: true }); // a finished run
      continue;
    }
    const dead: DeadLog = { file, open: new Set(log.open.keys()) };
    for (const [id, intent] of log.open) {
      const k = keyOf(intent);
      byKey.set(k, [...(byKey.get(k) ?? []), { ...intent, id, log: dead }]);
    }
  }
  return byKey;
}

/**
 * Open intents of interrupted runs for this kind, name and scope, claimed by the caller: a concurrent create of
 * the same resource in this process does not get them too.
 */
export function staleIntents(kind: string, name: string, scope: string): StaleIntent[] {
  const dir = journalDir();
  if (!dir) return [];
  const byKey = listing(dir);
  const k = keyOf({ kind, name, scope });
  const found = byKey.get(k) ?? [];
  byKey.delete(k);
  return found.map(({ id, log, ...intent }) => ({
    ...intent,
    settled() {
      if (!log.open.delete(id)) return;
      try {
        if (log.open.size === 0) fs.rmSync(log.file, { force: true });
        else fs.appendFileSync(log.file, JSON.stringify({ done: id }) + "\n");
      } catch {
        // the intent stays open, and a later run looks for what it left once more
      }
    },
  }));
}

import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { RunOptions, RunResult, run } from "../../harness/engine";
import { StateResource, readState } from "../../harness/state";

export const FIXTURES = path.resolve(__dirname, "..", "fixtures", "harness");

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

export interface JournalEntry {
  method: string;
  phase?: string;
  label?: string;
  id?: string;
  t: number;
  pid: number;
  olds?: Record<string, unknown>;
  news?: Record<string, unknown>;
  inputs?: Record<string, unknown>;
  props?: Record<string, unknown>;
  unknowns?: string[];
  changed?: string[];
  tokenSha256?: string | null;
}

/** A temporary directory holding a state file and the fixture provider's remote objects and journal. */
export class Workspace {
  readonly dir: string;
  readonly statePath: string;

  constructor(name: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `harness-${name}-`));
    this.statePath = path.join(this.dir, "state.json");
  }

  get env(): Record<string, string> {
    return { HARNESS_FIXTURE_DIR: this.dir };
  }

  run(opts: Omit<RunOptions, "statePath"> & { statePath?: string }): Promise<RunResult> {
    return run({ statePath: this.statePath, ...opts, env: { ...this.env, ...(opts.env ?? {}) } });
  }

  journal(): JournalEntry[] {
    const file = path.join(this.dir, "journal.jsonl");
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as JournalEntry);
  }

  /** Position in the journal, to look only at what a later run did. */
  mark(): number {
    return this.journal().length;
  }

  since(mark: number): JournalEntry[] {
    return this.journal().slice(mark);
  }

  remoteFile(id: string): string {
    return path.join(this.dir, "remote", `${id}.json`);
  }

  resources(statePath = this.statePath): StateResource[] {
    return readState(statePath).deployment.resources;
  }

  resource(urnSuffix: string, statePath = this.statePath): StateResource {
    const r = this.resources(statePath).find((x) => x.urn.endsWith(urnSuffix) && !x.delete);
    if (!r) throw new Error(`no resource ending with ${urnSuffix} in ${statePath}`);
    return r;
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** CRUD calls (begin phase) in journal order, as "method:label". */
export function crud(entries: JournalEntry[]): string[] {
  return entries
    .filter((e) => ["create", "update", "delete"].includes(e.method) && e.phase === "begin")
    .map((e) => `${e.method}:${e.label}`);
}

export function methods(entries: JournalEntry[]): string[] {
  return [...new Set(entries.map((e) => e.method))].sort();
}

/** Index of the first journal entry matching. */
export function indexOf(entries: JournalEntry[], pred: (e: JournalEntry) => boolean): number {
  return entries.findIndex(pred);
}

/** Largest number of calls of `method` that were running at the same time (from begin/end entries). */
export function maxOverlap(entries: JournalEntry[], method: string): number {
  const events: Array<[number, number]> = [];
  for (const e of entries) {
    if (e.method !== method) continue;
    if (e.phase === "begin") events.push([e.t, 1]);
    else if (e.phase === "end" || e.phase === "failed" || e.phase === "initFailed") events.push([e.t, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of events) {
    cur += d;
    max = Math.max(max, cur);
  }
  return max;
}

export const STACK_URN = "urn:pulumi:dev::fixture::pulumi:pulumi:Stack::fixture-dev";
export const THING = "pulumi-nodejs:dynamic/fixture:Thing";
export const thingUrn = (name: string) => `urn:pulumi:dev::fixture::${THING}::${name}`;

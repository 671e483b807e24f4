import type { FaultTable } from "./faults";
import type { Store } from "./store";

/** Shared state of one running emulator, handed to every route module. */
export interface EmulatorContext {
  readonly store: Store;
  /** `http://host:port`, known once the server listens. */
  baseUrl: string;
  /** Pending timers (deployment completion); cleared on reset and close. */
  readonly timers: Set<NodeJS.Timeout>;
  /** Request counters of non-admin routes; see `Counters`. */
  readonly counters: Counters;
  /** Faults armed through `/_admin/faults`; cleared on reset. */
  readonly faults: FaultTable;
  /** Schedules `fn` after `ms`, tracked in `timers`. */
  later(ms: number, fn: () => void): void;
  /** Clears pending timers. */
  clearTimers(): void;
}

/** What the emulator counts of non-admin requests, until `/_admin/reset` or `DELETE /_admin/requests`. */
export interface Counters {
  total: number;
  /** Keyed `METHOD /route/template`. */
  routes: Record<string, number>;
  /** TCP connections accepted. */
  connections: number;
  /** Management calls authenticated, keyed by the Dynamiq user id whose Personal Access Token made them. */
  callers: Record<string, number>;
}

export function emptyCounters(): Counters {
  return { total: 0, routes: {}, connections: 0, callers: {} };
}

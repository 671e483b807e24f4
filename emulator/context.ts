import type { FaultTable } from "./faults";
import type { Store } from "./store";

/** Shared state of one running emulator, handed to every route module. */
export interface EmulatorContext {
  readonly store: Store;
  /** `http://host:port`, known once the server listens. */
  baseUrl: string;
  /** Pending timers (deployment completion); cleared on reset and close. */
  readonly timers: Set<NodeJS.Timeout>;
  /** Request counters of non-admin routes, keyed `METHOD /route/template`. */
  readonly counters: { total: number; routes: Record<string, number>; connections: number };
  /** Faults armed through `/_admin/faults`; cleared on reset. */
  readonly faults: FaultTable;
  /** Schedules `fn` after `ms`, tracked in `timers`. */
  later(ms: number, fn: () => void): void;
  /** Clears pending timers. */
  clearTimers(): void;
}

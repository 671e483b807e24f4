// Waiting for the platform: one backoff and one deadline rule for everything this provider polls (a deployment
// to finish, a Flightcontrol run to store secrets).

export const FIRST_POLL_DELAY_MS = 200;
export const MAX_POLL_DELAY_MS = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls until `done(last)` or the deadline (epoch ms). Before each poll it waits 200 ms, 1.5 times longer each
 * time, at most 5 s, and never past the deadline; `last` starts as `first` (an answer already in hand, checked
 * before any wait). Resolves with the last answer and whether it was done; a poll that throws ends the wait with
 * its error (a poll may instead return the previous answer to try again after the next delay).
 */
export async function pollUntil<T>(opts: {
  deadline: number;
  poll: () => Promise<T>;
  done: (answer: T) => boolean;
  first?: T;
}): Promise<{ last: T | undefined; done: boolean }> {
  let last = opts.first;
  let delay = FIRST_POLL_DELAY_MS;
  for (;;) {
    if (last !== undefined && opts.done(last)) return { last, done: true };
    const left = opts.deadline - Date.now();
    if (left <= 0) return { last, done: false };
    await sleep(Math.min(delay, left));
    last = await opts.poll();
    delay = Math.min(Math.round(delay * 1.5), MAX_POLL_DELAY_MS);
  }
}

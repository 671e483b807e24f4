// Whether the Pulumi engine that started this provider host is still there.
//
// The engine starts each plugin in a process group of its own, so a `pulumi up` killed with SIGKILL (a cancelled
// CI job, an OOM kill) leaves Pulumi's dynamic-provider host running. A create in flight would then finish, and
// its intent would be marked done in the journal, though no engine is left to write it to state: an orphan the
// next run cannot find. So the host checks the engine before it records a create as done, and watches it
// between calls; when the engine is gone, the host exits, leaving the intent open for the next run to settle
// (provider/reconcile.ts).
import net from "node:net";

/** How often the watch checks the engine between calls. */
const WATCH_INTERVAL_MS = 1_000;
const CONNECT_TIMEOUT_MS = 2_000;

/**
 * The engine's address when this process is Pulumi's dynamic-provider host: `node …/cmd/dynamic-provider/index.js
 * <engine address>`. Undefined anywhere else (tests, benchmarks calling the definitions directly).
 */
export function engineAddress(
  argv: readonly string[] = process.argv,
): { host: string; port: number } | undefined {
  if (!/[\\/]cmd[\\/]dynamic-provider([\\/]index\.js)?$/.test(argv[1] ?? "")) return undefined;
  const m = /^(.+):(\d+)$/.exec(argv[2] ?? "");
  return m ? { host: m[1], port: Number(m[2]) } : undefined;
}

/**
 * True when the engine at `address` refuses connections: the CLI process is gone. A timeout or any other
 * error is not proof, so it counts as there.
 */
export function engineGone(address = engineAddress()): Promise<boolean> {
  if (!address) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = net.connect(address.port, address.host);
    const done = (gone: boolean) => {
      socket.destroy();
      resolve(gone);
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => done(false));
    socket.once("connect", () => done(false));
    socket.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED"));
  });
}

/** Ends this host: what it would still do can reach no engine, and its open intents are for the next run. */
function exitOrphaned(): never {
  process.stderr.write(
    "pulumi-dynamiq: the Pulumi engine that started this provider host is gone; exiting so that the next run settles the creates left unfinished\n",
  );
  process.exit(1);
}

/** Exits the host if its engine is gone; call it before recording that a create's answer reached the engine. */
export async function exitIfEngineGone(): Promise<void> {
  if (await engineGone()) exitOrphaned();
}

let watching = false;

/** Checks the engine every second (without keeping the process alive) and exits the host once it is gone. */
export function watchEngine(): void {
  const address = engineAddress();
  if (watching || !address) return;
  watching = true;
  const timer = setInterval(() => {
    void engineGone(address).then((gone) => gone && exitOrphaned());
  }, WATCH_INTERVAL_MS);
  timer.unref();
}

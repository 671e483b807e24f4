// The cold start of the dynamic-provider host as the engine sees it, read from the engine's own log
// (`-v=7 --logtostderr`): from launching the plugin to its handshake, and the first calls in the fresh host. The
// first call is the one that deserialises `__provider`, runs `configure` and loads the provider's code.

/** The CLI arguments that make the engine log what `coldStart` reads. */
export const ENGINE_LOG_ARGS = ["-v=7", "--logtostderr"];

export interface ColdStart {
  /** Launching the plugin (its shell script, a `node -e`, then the host) until its gRPC handshake. */
  hostStartMs?: number;
  /** The first Check of a `pulumi up` in a fresh host (our provider's and the thinnest one's first call). */
  firstCheckMs?: number;
  /** The first Create, right after. */
  firstCreateMs?: number;
  /** The first Read of a `pulumi refresh` in a fresh host (its first call). */
  firstReadMs?: number;
}

interface LogLine {
  ms: number;
  msg: string;
}

/** The engine's JSON log lines in what the CLI printed (a line may follow progress text on the same line). */
function logLines(log: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of log.split("\n")) {
    const at = line.indexOf('{"time":"');
    if (at < 0) continue;
    try {
      const { time, msg } = JSON.parse(line.slice(at)) as { time: string; msg: string };
      // Date.parse keeps milliseconds only; the engine writes nanoseconds.
      const [whole, fraction = "0"] = time.replace(/Z$/, "").split(".");
      out.push({ ms: Date.parse(`${whole}Z`) + Number(`0.${fraction}`) * 1000, msg });
    } catch {
      // a line that only looks like one
    }
  }
  return out;
}

/** From the first provider `method` call to its success, ms. */
function firstCallMs(lines: LogLine[], method: string): number | undefined {
  const marker = `].${method}(`;
  const start = lines.find((l) => l.msg.includes(marker) && / executing/.test(l.msg));
  if (!start) return undefined;
  const from = start.msg.indexOf(marker) + marker.length;
  const call = `${marker}${start.msg.slice(from, start.msg.indexOf(") executing", from))})`;
  const end = lines.find((l) => l.ms >= start.ms && l.msg.includes(call) && / success/.test(l.msg));
  return end && end.ms - start.ms;
}

/** The launch of the dynamic-provider plugin until its handshake, ms. */
function hostStartMs(lines: LogLine[]): number | undefined {
  const handshake = lines.findIndex((l) => l.msg.startsWith("Handshake"));
  const launch = lines
    .slice(0, Math.max(0, handshake))
    .findLast((l) => l.msg.startsWith("GetPluginPath(resource, pulumi-nodejs"));
  return launch && lines[handshake].ms - launch.ms;
}

/** The cold-start figures of a `pulumi up` and a `pulumi refresh`, each in a fresh host. */
export function coldStart(upLog: string, refreshLog: string): ColdStart {
  const up = logLines(upLog);
  const refresh = logLines(refreshLog);
  return {
    hostStartMs: hostStartMs(up),
    firstCheckMs: firstCallMs(up, "Check"),
    firstCreateMs: firstCallMs(up, "Create"),
    firstReadMs: firstCallMs(refresh, "Read"),
  };
}

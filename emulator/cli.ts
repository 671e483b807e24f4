#!/usr/bin/env node
// Runs the emulator: `node dist/emulator/cli.js --port <n> [--host <addr>] [--state <file>]`.
// The first line on stdout is one JSON object with the seed; request logs go to stderr.
import { startEmulator } from "./server";

const USAGE = "usage: cli.js [--port <n>] [--host <address>] [--state <file>]";

interface CliArgs {
  port: number;
  host?: string;
  state?: string;
}

function parseArgs(argv: string[]): CliArgs {
  const args: CliArgs = { port: 0 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const [name, inline] = flag.includes("=") ? flag.split(/=(.*)/s, 2) : [flag, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case "--port": {
        const raw = value();
        const port = Number(raw);
        if (!/^\d+$/.test(raw) || port > 65535) throw new Error(`--port must be an integer 0..65535`);
        args.port = port;
        break;
      }
      case "--host":
        args.host = value();
        break;
      case "--state":
        args.state = value();
        break;
      case "--help":
      case "-h":
        process.stderr.write(USAGE + "\n");
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${name}`);
    }
  }
  return args;
}

async function main(): Promise<void> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const emulator = await startEmulator({ port: args.port, host: args.host, statePath: args.state });
  process.stdout.write(
    JSON.stringify({
      dynamiq: emulator.dynamiq,
      flightcontrol: emulator.flightcontrol,
      dypai: emulator.dypai,
    }) + "\n",
  );
  process.stderr.write(`emulator (dynamiq, flightcontrol, dypai) listening on ${emulator.baseUrl}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`received ${signal}, closing\n`);
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err: unknown) => {
  process.stderr.write(`emulator failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

// The emulator in a process of its own for the overhead benchmarks, so that its work (and its added latency
// timers) never shares an event loop with the client being measured. Prints one JSON line (baseUrl and the
// Dynamiq seed), then serves until SIGTERM.
//   node dist/bench/emulator-process.js <latencyMs>
import { startEmulator } from "../emulator/server";

async function main() {
  const emu = await startEmulator({ port: 0, log: () => undefined, latencyMs: Number(process.argv[2] ?? 0) });
  process.stdout.write(JSON.stringify({ baseUrl: emu.baseUrl, dynamiq: emu.dynamiq }) + "\n");
  const stop = () => void emu.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

void main();

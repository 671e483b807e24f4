#!/usr/bin/env node
// `npm run pulumi -- <pulumi arguments>`: the pinned Pulumi CLI (built first when missing), with the environment
// these machines need, in any Pulumi project folder (`-C <folder>`, else the folder npm was started from).
//
// The Node.js language host could not be built here (see README), so for the commands that run a program (up,
// preview, refresh, destroy) this script stands in for it: it serves the Automation API's language server with
// the project's program (engine/program.ts) and passes its address with the CLI's `--client` flag, as the
// Automation API does for inline programs. Everything else (the engine, state, secrets, the dynamic-provider
// host, what is printed, the exit code) is the CLI's own. Where a `pulumi-language-nodejs` is found beside the
// CLI or on PATH, the CLI runs unchanged.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CLI_PATH, ensureCli, offlineEnv } from "./cli";
import { programFolder, projectProgram, pulumiRequire, readProject, runtimeName } from "./program";

const PROGRAM_COMMANDS = new Set(["up", "update", "preview", "pre", "refresh", "destroy", "down", "dn"]);
/** Global flags that take a value, so that their value is not taken for the command. */
const VALUE_FLAGS = new Set([
  "-C",
  "--cwd",
  "-s",
  "--stack",
  "--color",
  "-v",
  "--verbose",
  "--tracing",
  "--profiling",
]);

export interface Invocation {
  command?: string;
  /** The folder given with -C/--cwd, if any. */
  cwd?: string;
}

/** The command and the -C/--cwd folder of a pulumi command line. */
export function parseInvocation(args: string[]): Invocation {
  const out: Invocation = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") break;
    const [flag, inline] =
      arg.startsWith("--") && arg.includes("=") ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    if (flag === "-C" || flag === "--cwd") out.cwd = inline ?? args[i + 1];
    if (VALUE_FLAGS.has(flag) && inline === undefined) i++;
    else if (!arg.startsWith("-") && out.command === undefined) out.command = arg;
  }
  return out;
}

function hasLanguageHost(): boolean {
  const dirs = [path.dirname(CLI_PATH), ...(process.env.PATH ?? "").split(path.delimiter)];
  return dirs.some((d) => d && fs.existsSync(path.join(d, "pulumi-language-nodejs")));
}

/** Serves the project's program to the CLI; returns the `--client` address and a function that stops it. */
async function serveProgram(projectDir: string): Promise<{ address: string; stop: () => void }> {
  const pulumi = pulumiRequire(programFolder(projectDir));
  const grpc = pulumi("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
  const { LanguageServer } = pulumi("./automation/server");
  const { LanguageRuntimeService } = pulumi("./proto/language_grpc_pb");
  const { grpcChannelOptions } = pulumi("./runtime/settings");
  const server = new grpc.Server(grpcChannelOptions);
  server.addService(LanguageRuntimeService, new LanguageServer(projectProgram(projectDir)));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

export async function main(args: string[]): Promise<number> {
  ensureCli();
  const { command, cwd } = parseInvocation(args);
  // Under `npm run pulumi`, npm starts scripts in the package root; the folder the user typed in is INIT_CWD.
  const typedIn = process.env.npm_lifecycle_event === "pulumi" ? process.env.INIT_CWD : undefined;
  const projectDir = path.resolve(typedIn ?? process.cwd(), cwd ?? ".");
  const cliArgs = cwd === undefined ? ["-C", projectDir, ...args] : [...args];
  let served: { address: string; stop: () => void } | undefined;
  if (
    command !== undefined &&
    PROGRAM_COMMANDS.has(command) &&
    !args.some((a) => a.startsWith("--client")) &&
    !hasLanguageHost() &&
    fs.existsSync(path.join(projectDir, "Pulumi.yaml")) &&
    runtimeName(readProject(projectDir)) === "nodejs"
  ) {
    served = await serveProgram(projectDir);
    cliArgs.push(`--client=${served.address}`);
  }
  const child = spawn(CLI_PATH, cliArgs, { stdio: "inherit", env: { ...process.env, ...offlineEnv() } });
  const forward = (signal: NodeJS.Signals) => () => void child.kill(signal);
  process.on("SIGINT", forward("SIGINT"));
  process.on("SIGTERM", forward("SIGTERM"));
  const code = await new Promise<number>((resolve) =>
    child.on("exit", (status, signal) =>
      resolve(status ?? 128 + (signal ? os.constants.signals[signal] : 0)),
    ),
  );
  served?.stop();
  return code;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    },
  );
}

#!/usr/bin/env node
// `npm run engine -- <up|preview|refresh|destroy> <program-dir> --state <file> [options]`: the engine harness CLI,
// mirroring the pulumi CLI's verbs and flags.

import { RunOptions, Verb, run } from "./engine";
import { errorMessage } from "./util";

export const USAGE = `usage: engine <up|preview|refresh|destroy> <program-dir> --state <file> [options]

options:
  --state <file>          state file (JSON, like \`pulumi stack export\`); required
  -s, --stack <name>      stack name (default: dev)
  -c, --config k=v        set a stack config value (repeatable; persisted in the state file)
  --secret k=v            set a secret stack config value (repeatable; stored encrypted)
  -r, --refresh           refresh the state before the update/preview/destroy
  --expect-no-changes     exit 2 if there are any changes
  -j, --json              print one JSON object with the result to stdout
  -p, --parallel <n>      maximum concurrent provider operations (default 16)
  -v, --verbose           also print unchanged resources and debug messages

The secrets passphrase comes from PULUMI_CONFIG_PASSPHRASE (default: empty).
exit codes: 0 success, 1 error, 2 changes found with --expect-no-changes`;

const VERBS: readonly Verb[] = ["up", "preview", "refresh", "destroy"];

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export interface ParsedArgs {
  options: RunOptions;
  json: boolean;
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positional: string[] = [];
  const config: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  let statePath: string | undefined;
  let stack: string | undefined;
  let refresh = false;
  let expectNoChanges = false;
  let json = false;
  let verbose = false;
  let parallel: number | undefined;

  const args = [...argv];
  const take = (flag: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    const v = args.shift();
    if (v === undefined) throw new Error(`${flag} needs a value`);
    return v;
  };
  const keyValue = (flag: string, v: string): [string, string] => {
    const i = v.indexOf("=");
    if (i <= 0) throw new Error(`${flag} expects key=value, got ${JSON.stringify(v)}`);
    return [v.slice(0, i), v.slice(i + 1)];
  };
  while (args.length > 0) {
    const arg = args.shift()!;
    if (!arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    switch (flag) {
      case "--state":
        statePath = take(flag, inline);
        break;
      case "-s":
      case "--stack":
        stack = take(flag, inline);
        break;
      case "-c":
      case "--config": {
        const [k, v] = keyValue(flag, take(flag, inline));
        config[k] = v;
        delete secrets[k];
        break;
      }
      case "--secret": {
        const [k, v] = keyValue(flag, take(flag, inline));
        secrets[k] = v;
        delete config[k];
        break;
      }
      case "-r":
      case "--refresh":
        refresh = true;
        break;
      case "--expect-no-changes":
        expectNoChanges = true;
        break;
      case "-j":
      case "--json":
        json = true;
        break;
      case "-v":
      case "--verbose":
        verbose = true;
        break;
      case "-p":
      case "--parallel": {
        const v = take(flag, inline);
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new Error(`--parallel expects a positive integer, got ${v}`);
        parallel = n;
        break;
      }
      case "-h":
      case "--help":
        throw new HelpRequested();
      default:
        throw new Error(`unknown flag ${flag}`);
    }
  }
  if (positional.length !== 2) throw new Error("expected a verb and a program directory");
  const [verb, programDir] = positional;
  if (!VERBS.includes(verb as Verb))
    throw new Error(`unknown verb ${verb}; expected one of ${VERBS.join(", ")}`);
  if (!statePath) throw new Error("--state <file> is required");
  return {
    json,
    options: {
      verb: verb as Verb,
      programDir,
      statePath,
      stack,
      config,
      secrets,
      refresh,
      expectNoChanges,
      parallel,
      verbose,
    },
  };
}

class HelpRequested extends Error {}

/** Runs the CLI; returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    if (e instanceof HelpRequested) {
      io.stdout(USAGE + "\n");
      return 0;
    }
    io.stderr(`error: ${errorMessage(e)}\n\n${USAGE}\n`);
    return 1;
  }
  const out = parsed.json ? io.stderr : io.stdout;
  try {
    // The provider host's stderr goes to stderr (as the engine forwards plugin output); the rest to `out`.
    const onOutput = (line: string) => (line.startsWith("[provider] ") ? io.stderr : out)(line + "\n");
    const result = await run({ ...parsed.options, onOutput });
    if (parsed.json) {
      const doc = {
        steps: result.steps.map((s) => ({
          name: s.name,
          type: s.type,
          op: s.op,
          ...(s.replaces ? { replaces: s.replaces } : {}),
          ...(s.diffs ? { diffs: s.diffs } : {}),
        })),
        changes: result.changes,
        outputs: result.displayOutputs,
        errors: result.errors,
      };
      io.stdout(JSON.stringify(doc, null, 2) + "\n");
    }
    return result.exitCode;
  } catch (e) {
    io.stderr(`error: ${errorMessage(e)}\n`);
    if (parsed.json) {
      io.stdout(
        JSON.stringify(
          {
            steps: [],
            changes: { create: 0, update: 0, replace: 0, delete: 0, same: 0 },
            outputs: {},
            errors: [errorMessage(e)],
          },
          null,
          2,
        ) + "\n",
      );
    }
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`error: ${errorMessage(e)}\n`);
      process.exitCode = 1;
    },
  );
}

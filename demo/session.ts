// A terminal session on the real Pulumi CLI, as the demo shows it: each command printed as a user would type it
// (secret arguments as placeholders), run through engine/pulumi.ts in a process of its own, and the CLI's own
// output printed as it comes, shortened: progress lines, resources still in progress and unchanged resources
// are left out, and the plan an `up --yes` or `destroy --yes` prints before acting is cut to its summary.
import { spawn } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "../engine/cli";

/** A secret command-line argument: run with `value`, shown as `shown`. */
export interface SecretArg {
  value: string;
  shown: string;
}

export type Arg = string | SecretArg;

export interface CommandResult {
  code: number;
  /** Everything the CLI printed, stdout and stderr, in arrival order. */
  output: string;
  seconds: number;
}

/** Commands whose plan is printed before they act (with `--yes`). */
const ACTING = new Set(["up", "destroy"]);
/** A resource line of the CLI's progress view: `<op marks> <type> <name> <status>`. */
const RESOURCE_LINE = /^ ?[-+~<>=*]{0,2}\s+(pulumi:|pulumi-nodejs:)\S+ [^\s(]\S*(?<status>.*)$/;
/** Most lines a command may print before the rest (but its summary) is cut. */
const MAX_LINES = 50;
/** A command that takes longer than this is stopped, and fails. */
const COMMAND_TIMEOUT_MS = 300_000;

/**
 * Keeps the lines of a command's output worth reading. One instance per command; `line` returns the text to
 * print for an input line, or undefined to drop it.
 */
class Shortener {
  private inPlan = false;
  private inSummary = false;
  private lastBlank = true;
  private kept = 0;
  private cut = false;
  private readonly seen = new Set<string>();

  constructor(private readonly acting: boolean) {}

  line(raw: string): string | undefined {
    const line = raw.trimEnd();
    if (line.startsWith("@ ")) return undefined; // the spinner's progress lines
    if (/^(Previewing|Updating|Destroying|Refreshing)\b.*:$/.test(line)) {
      this.inSummary = false;
      this.inPlan = this.acting && line.startsWith("Previewing");
      return this.keep(this.inPlan ? `${line}\n    …` : line);
    }
    // The summary, and anything that went wrong, are printed in full, also in a plan that is otherwise cut.
    if (line === "Resources:" || line === "Diagnostics:") this.inSummary = true;
    if (/^(error|warning):/.test(line)) return this.keep(line);
    if (this.inPlan && !this.inSummary) return undefined;
    if (/^\s*\[urn=/.test(line) || /^\s*pulumi:pulumi:Stack: \(same\)$/.test(line)) return undefined;
    const resource = RESOURCE_LINE.exec(line);
    if (resource) {
      const status = resource.groups?.status?.trim() ?? "";
      // Unchanged resources, and steps still running (their outcome follows on a line of its own).
      if (status === "" || /^\w+ing\b/.test(status)) return undefined;
      if (this.seen.has(line)) return undefined;
      this.seen.add(line);
    }
    if (line === "" && this.lastBlank) return undefined;
    if (this.kept >= MAX_LINES && !this.inSummary) {
      if (this.cut) return undefined;
      this.cut = true;
      return "    …";
    }
    return this.keep(line);
  }

  private keep(line: string): string {
    this.lastBlank = line === "";
    this.kept++;
    return line;
  }
}

/** How an argument is shown: a placeholder for a secret, quotes where the shell would need them. */
function shown(arg: Arg): string {
  if (typeof arg !== "string") return arg.shown;
  return /^[\w@%+=:,./~-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * A shell session: a working folder, the environment of every command, and everything printed (the demo's
 * secret audit reads it).
 */
export class Session {
  /** Every line printed so far: commands, the CLI's output, the demo's own remarks. */
  readonly transcript: string[] = [];
  /** The whole output of every command shown, before shortening. */
  readonly outputs: string[] = [];
  private dir = REPO_ROOT;

  constructor(private readonly env: Record<string, string>) {}

  /** Prints a line (and records it). */
  print(line = ""): void {
    this.transcript.push(line);
    console.log(line);
  }

  /** Prints a remark of the demo's own, as a shell comment. */
  note(text: string): void {
    this.print(`# ${text}`);
  }

  /** Prints a command line; long ones are wrapped after `--flag value` pairs, as a user would continue them. */
  private printCommand(words: string[]): void {
    const lines: string[] = [];
    let current = "$";
    for (let i = 0; i < words.length; i++) {
      const word = words[i].startsWith("--") && i + 1 < words.length ? `${words[i]} ${words[++i]}` : words[i];
      if (current.length + word.length + 1 > 100 && current !== "$") {
        lines.push(`${current} \\`);
        current = "   ";
      }
      current += ` ${word}`;
    }
    lines.push(current);
    for (const l of lines) this.print(l);
  }

  /** `cd` into a folder (relative to the repository root). */
  cd(folder: string): void {
    this.dir = path.join(REPO_ROOT, folder);
    this.printCommand(["cd", folder]);
  }

  /** `export NAME=value`, shown with a placeholder when the value is secret. */
  exportVar(name: string, value: Arg): void {
    this.env[name] = typeof value === "string" ? value : value.value;
    this.printCommand(["export", `${name}=${shown(value)}`]);
  }

  /**
   * Runs `pulumi <args>` in the current folder: printed, then its output (shortened), unless `quiet`. Never
   * rejects for a non-zero exit: the caller decides what the exit code means.
   */
  async pulumi(args: Arg[], opts: { quiet?: boolean } = {}): Promise<CommandResult> {
    if (!opts.quiet) this.printCommand(["pulumi", ...args.map(shown)]);
    const started = Date.now();
    const shortener = new Shortener(ACTING.has(typeof args[0] === "string" ? args[0] : ""));
    const child = spawn(
      process.execPath,
      [
        path.join(REPO_ROOT, "dist", "engine", "pulumi.js"),
        ...args.map((a) => (typeof a === "string" ? a : a.value)),
      ],
      { cwd: this.dir, env: { ...process.env, ...this.env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    const timer = setTimeout(() => child.kill("SIGTERM"), COMMAND_TIMEOUT_MS);
    let output = "";
    const partial = { stdout: "", stderr: "" };
    const take = (stream: keyof typeof partial, text: string, flush = false) => {
      output += text;
      const lines = (partial[stream] + text).split("\n");
      partial[stream] = flush ? "" : (lines.pop() ?? "");
      if (opts.quiet) return;
      for (const l of lines) {
        const kept = shortener.line(l);
        if (kept !== undefined) for (const k of kept.split("\n")) this.print(k);
      }
    };
    child.stdout.setEncoding("utf8").on("data", (t: string) => take("stdout", t));
    child.stderr.setEncoding("utf8").on("data", (t: string) => take("stderr", t));
    const code = await new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (status, signal) => resolve(status ?? (signal ? 128 : 1)));
    }).finally(() => clearTimeout(timer));
    for (const stream of ["stdout", "stderr"] as const) if (partial[stream]) take(stream, "", true);
    if (!opts.quiet) this.outputs.push(output);
    return { code, output, seconds: (Date.now() - started) / 1000 };
  }
}

/** A secret argument `<prefix><value>`, shown as `<prefix><label>`. */
export function secretArg(prefix: string, value: string, label: string): SecretArg {
  return { value: prefix + value, shown: `${prefix}<${label}>` };
}

// Preloaded into every Node.js process of a benchmarked `pulumi` command (NODE_OPTIONS=--require): the program
// process (engine/pulumi.js), the dynamic-provider host and the `node -e` its launcher script runs first. At exit,
// each writes its own CPU time and peak memory, as the kernel counted them, to $BENCH_PROC_DIR/<pid>.json, so a
// process that lives less than a sampling interval, or whose last moments a sampler would miss, is still counted
// exactly. The engine stops the host with SIGINT, which would kill it without an exit event: here the host exits
// normally on SIGINT instead (which also lets `--cpu-prof` write its profile).
import fs from "node:fs";
import path from "node:path";

/** What each process writes. */
export interface ProcReport {
  pid: number;
  ppid: number;
  role: "program" | "host" | "other";
  /** User + system CPU time of the process itself (not its children), ms. */
  cpuMs: number;
  /** Peak resident memory, bytes. */
  maxRssBytes: number;
  /** CPU time of the children this process has waited for (and of theirs), ms, from /proc; NaN elsewhere. */
  childrenCpuMs: number;
}

/** utime + stime, or cutime + cstime with `children`, from a /proc/<pid>/stat text (clock ticks of 10 ms). */
export function statCpuMs(stat: string, children = false): number {
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields 14-17 of stat(5) (utime, stime, cutime, cstime) are at 11-14 after the command
  const at = children ? 13 : 11;
  return (Number(f[at]) + Number(f[at + 1])) * 10;
}

export function roleOf(argv: string[]): ProcReport["role"] {
  const script = argv[1] ?? "";
  if (script.includes("dynamic-provider")) return "host";
  if (/engine[\\/]pulumi\.js$/.test(script)) return "program";
  return "other";
}

function childrenCpuMs(): number {
  try {
    return statCpuMs(fs.readFileSync("/proc/self/stat", "utf8"), true);
  } catch {
    return NaN;
  }
}

const dir = process.env.BENCH_PROC_DIR;
if (dir) {
  const role = roleOf(process.argv);
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    const u = process.resourceUsage();
    const report: ProcReport = {
      pid: process.pid,
      ppid: process.ppid,
      role,
      cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000,
      maxRssBytes: u.maxRSS * 1024,
      childrenCpuMs: childrenCpuMs(),
    };
    fs.writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify(report));
  };
  process.on("exit", write);
  if (role === "host") process.on("SIGINT", () => process.exit(130));
}

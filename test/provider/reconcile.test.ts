// The intent journal must recognise an interrupted run whose processes are gone, even where they linger as
// zombies (CI containers whose PID 1 does not reap orphans): otherwise the next run skips the journal entry as
// "still in progress" and creates a duplicate next to the orphan.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createReconciled, processAlive } from "../../provider/reconcile";
import { ROOT, setEnv, tempDir } from "../support";

/** A process that has exited but is not reaped: its parent `sleep` never waits for children. */
async function zombie(): Promise<{ pid: number; stop: () => void }> {
  const holder = spawn("sh", ["-c", "sleep 0.05 & echo $!; exec sleep 30"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const pid = await new Promise<number>((resolve) =>
    holder.stdout.once("data", (c: Buffer) => resolve(Number(c))),
  );
  for (let i = 0; i < 100 && !fs.readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z "); i++)
    await new Promise((r) => setTimeout(r, 20));
  return { pid, stop: () => holder.kill("SIGKILL") };
}

const cleanups: Array<() => void> = [];
const journalBefore = process.env.DYNAMIQ_PROVIDER_JOURNAL;
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
  setEnv("DYNAMIQ_PROVIDER_JOURNAL", journalBefore);
});

describe("processAlive", () => {
  it("a running process is alive; an exited one, a zombie and a reused pid are not", async () => {
    const running = spawn("sleep", ["30"]);
    cleanups.push(() => running.kill("SIGKILL"));
    expect(processAlive(running.pid!)).toBe(true);

    const exited = spawnSync("true");
    expect(processAlive(exited.pid)).toBe(false);

    const z = await zombie();
    cleanups.push(z.stop);
    expect(fs.readFileSync(`/proc/${z.pid}/stat`, "utf8")).toContain(") Z ");
    expect(processAlive(z.pid)).toBe(false);

    // The pid of a live process, recorded with another start time: the recorded process is gone.
    const start = Number(fs.readFileSync(`/proc/${running.pid}/stat`, "utf8").split(") ")[1].split(" ")[19]);
    expect(processAlive(running.pid!, start)).toBe(true);
    expect(processAlive(running.pid!, start - 1)).toBe(false);
  });
});

describe("an interrupted run's create", () => {
  it("is settled by the next run even when the killed process lingers as a zombie", async () => {
    const journal = tempDir("dynamiq-journal-");
    // The first run: a process that writes its intent and then hangs in the POST; it is killed there and stays a
    // zombie under a parent that never reaps it.
    const script = `
      const { createReconciled } = require(${JSON.stringify(path.join(ROOT, "dist", "provider", "reconcile.js"))});
      createReconciled({ kind: "connection", name: "orphaned", scope: "org/proj", resolve: "adopt",
        create: () => { process.stdout.write("posting\\n"); return new Promise(() => {}); },
        candidates: async () => [] });`;
    const holder = spawn(
      "sh",
      ["-c", `"${process.execPath}" -e '${script.replace(/'/g, "'\\''")}' & echo $!; exec sleep 30`],
      { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, DYNAMIQ_PROVIDER_JOURNAL: journal } },
    );
    cleanups.push(() => holder.kill("SIGKILL"));
    let out = "";
    await new Promise<void>((resolve) =>
      holder.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("posting")) resolve();
      }),
    );
    const pid = Number(out.split("\n")[0]);
    expect(fs.readdirSync(journal)).toHaveLength(1);
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 100 && !fs.readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z "); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(fs.readFileSync(`/proc/${pid}/stat`, "utf8")).toContain(") Z ");

    // The next run finds the object the killed run left and adopts it instead of creating a second one.
    setEnv("DYNAMIQ_PROVIDER_JOURNAL", journal);
    const leftBehind = { id: "conn-left-behind", created_at: new Date().toISOString() };
    let posts = 0;
    const result = await createReconciled({
      kind: "connection",
      name: "orphaned",
      scope: "org/proj",
      resolve: "adopt",
      create: async () => ({ id: `conn-new-${++posts}`, created_at: new Date().toISOString() }),
      candidates: async () => [leftBehind],
    });
    expect(result).toEqual({ rec: leftBehind, adopted: true });
    expect(posts).toBe(0);
    expect(fs.readdirSync(journal)).toEqual([]);
  });
});

describe("the journal of earlier runs", () => {
  const line = (o: object) => JSON.stringify(o) + "\n";
  const spec = (posts: { n: number }, candidates: Array<{ id: string; created_at: string }> = []) => ({
    kind: "connection",
    name: "shared",
    scope: "org/proj",
    resolve: "adopt" as const,
    create: async () => ({ id: `conn-new-${++posts.n}`, created_at: new Date().toISOString() }),
    candidates: async () => candidates,
  });

  it("a finished run's log is removed; an open intent of a run still working is left alone", async () => {
    const journal = tempDir("dynamiq-journal-");
    const running = spawn("sleep", ["30"]);
    cleanups.push(() => running.kill("SIGKILL"));
    const finished = spawnSync("true").pid;
    const intent = { kind: "connection", name: "shared", scope: "org/proj", startedAt: Date.now() };
    fs.writeFileSync(
      path.join(journal, "finished.log"),
      line({ pid: finished }) + line({ begin: 1, ...intent }) + line({ done: 1 }),
    );
    fs.writeFileSync(
      path.join(journal, "working.log"),
      line({ pid: running.pid }) + line({ begin: 1, ...intent }),
    );
    setEnv("DYNAMIQ_PROVIDER_JOURNAL", journal);

    const posts = { n: 0 };
    const found = { id: "conn-of-the-working-run", created_at: new Date().toISOString() };
    const r = await createReconciled(spec(posts, [found]));
    // The other run's object is not taken: it is still working on it and will record it itself.
    expect(r).toEqual({ rec: { id: "conn-new-1", created_at: expect.any(String) }, adopted: false });
    expect(posts.n).toBe(1);
    const files = fs.readdirSync(journal).sort();
    expect(files).not.toContain("finished.log");
    expect(files).toContain("working.log");
    // This process's own log: the create was begun and done.
    const own = files.filter((f) => f.startsWith(`${process.pid}-`));
    expect(own).toHaveLength(1);
    const lines = fs
      .readFileSync(path.join(journal, own[0]), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.slice(1)).toEqual([expect.objectContaining({ begin: 1, name: "shared" }), { done: 1 }]);
  });

  it("a begin line cut short by a kill is ignored: its POST was never sent", async () => {
    const journal = tempDir("dynamiq-journal-");
    const dead = spawnSync("true").pid;
    fs.writeFileSync(path.join(journal, "cut.log"), line({ pid: dead }) + '{"begin":1,"kind":"connec');
    setEnv("DYNAMIQ_PROVIDER_JOURNAL", journal);
    const posts = { n: 0 };
    const r = await createReconciled(
      spec(posts, [{ id: "conn-unrelated", created_at: new Date().toISOString() }]),
    );
    expect(r.adopted).toBe(false);
    expect(posts.n).toBe(1);
    expect(fs.readdirSync(journal)).not.toContain("cut.log");
  });
});

// The main job: the real Pulumi CLI (built first on a fresh machine) against the Dynamiq emulator, driven the way
// a team would type it: examples/quickstart through up, a no-op up, a change, drift caught in CI and repaired, a
// key rotation and destroy; then examples/multi-platform rotating one key across Dynamiq, Flightcontrol and
// DYPAI. Each command is printed before it runs, with the CLI's own output (shortened); after each, the API
// calls it made and the secret audit of the stored state. No secret value is printed: the last check scans the
// whole transcript for them.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ensureCli, REPO_ROOT, tempDir } from "../engine/cli";
import { startEmulator } from "../emulator/server";
import { Platform, SecretAudit, filesUnder, keyPreview, type Held } from "./platform";
import { Session, secretArg, type Arg, type CommandResult } from "./session";

const STACK = "demo";
const EXAMPLES = ["examples/quickstart", "examples/multi-platform"];

class DemoFailure extends Error {}

function check(ok: boolean, what: string): void {
  if (!ok) throw new DemoFailure(what);
}

function random(prefix: string): string {
  return prefix + crypto.randomBytes(18).toString("base64url");
}

function describeCalls(before: Record<string, number>, after: Record<string, number>): [number, string] {
  const made = Object.entries(after)
    .map(([route, n]) => [route, n - (before[route] ?? 0)] as const)
    .filter(([, n]) => n > 0);
  const total = made.reduce((sum, [, n]) => sum + n, 0);
  return [total, made.map(([route, n]) => `${route} ×${n}`).join(", ")];
}

async function main(): Promise<void> {
  const started = Date.now();
  for (const folder of EXAMPLES) {
    const file = path.join(REPO_ROOT, folder, `Pulumi.${STACK}.yaml`);
    check(
      !fs.existsSync(file),
      `${path.relative(REPO_ROOT, file)} exists (a stack "${STACK}" of your own, or one left by an interrupted ` +
        `demo); remove it and run the demo again`,
    );
  }

  const session = new Session({});
  const say = (text: string) => session.note(text);
  const heading = (text: string) => {
    session.print();
    session.print(`## ${text}`);
  };

  heading("Setup: the Pulumi CLI, a Dynamiq emulator, a file backend of our own");
  const cli = ensureCli((line) => say(line));
  if (cli.builtInSeconds === undefined)
    say(`the Pulumi CLI ${cli.version} is already built (tools/pulumi/bin/pulumi, from tools/pulumi/go.mod)`);

  const emu = await startEmulator({ port: 0, log: () => undefined });
  const d = emu.dynamiq;
  const platform = new Platform(emu);
  const audit = new SecretAudit();
  const passphrase = random("demo-");
  const secrets = { openaiApiKey: random("sk-demo-"), dbPassword: random("pw-") };
  audit.add(d.userPat, emu.flightcontrol.apiKey, emu.dypai.token, passphrase, ...Object.values(secrets));
  const work = tempDir("dynamiq-demo-");
  const dirs = Object.fromEntries(
    ["backend", "home", "journal"].map((dir) => [dir, path.join(work, dir)] as const),
  ) as Record<"backend" | "home" | "journal", string>;
  for (const dir of Object.values(dirs)) fs.mkdirSync(dir);

  // Stacks initialised and not yet removed, with whether they may still hold resources: cleaned up on failure.
  const live = new Map<string, { destroyed: boolean }>();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error("\ninterrupted: cleaning up (interrupt again to leave at once)");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  /** Plaintext secrets in the stored state: `pulumi stack export` and every file of the file backend. */
  const stateLeaks = async (): Promise<number> => {
    const places = filesUnder(dirs.backend);
    const exported = await session.pulumi(["stack", "export"], { quiet: true });
    if (exported.code === 0) places["pulumi stack export"] = exported.output;
    return audit.count(places);
  };

  /**
   * Runs one command that acts on the stack, then prints what it did besides its own output: exit code, API
   * calls by route, and the state audit. Throws when the exit code is not the expected one.
   */
  const run = async (
    args: string[],
    expect: { exit?: "zero" | "nonzero"; calls?: number } = {},
  ): Promise<CommandResult> => {
    const before = await platform.calls();
    const r = await session.pulumi(args);
    const [calls, byRoute] = describeCalls(before, await platform.calls());
    const leaks = await stateLeaks();
    say(`exit ${r.code} (${r.seconds.toFixed(1)} s) · plaintext secrets found in state: ${leaks}`);
    say(`API calls: ${calls}${byRoute ? ` (${byRoute})` : ""}`);
    check(leaks === 0, `a secret reached the stored state in plaintext after pulumi ${args[0]}`);
    check(!interrupted, "interrupted");
    if ((expect.exit ?? "zero") === "zero")
      check(r.code === 0, `pulumi ${args.join(" ")} failed (exit ${r.code})`);
    else check(r.code !== 0, `pulumi ${args.join(" ")} was expected to fail, and exited 0`);
    if (expect.calls !== undefined)
      check(calls === expect.calls, `pulumi ${args[0]} made ${calls} API calls, not ${expect.calls}`);
    return r;
  };

  /** A command that must succeed; `quiet` ones are the demo's bookkeeping, not part of the story. */
  const must = async (args: Arg[], opts: { quiet?: boolean } = {}): Promise<string> => {
    const r = await session.pulumi(args, opts);
    check(r.code === 0, `pulumi ${typeof args[0] === "string" ? args[0] : ""} failed (exit ${r.code})`);
    return r.output;
  };
  const outputs = async () =>
    JSON.parse(await must(["stack", "output", "--json"], { quiet: true })) as Record<string, string>;

  /** `pulumi stack init` and the stack's config, secrets shown by their label. */
  const initStack = async (
    folder: string,
    plain: Record<string, string>,
    secret: Record<string, { value: string; label: string }>,
  ) => {
    session.cd(folder);
    await must(["stack", "init", STACK]);
    live.set(folder, { destroyed: false });
    const args: Arg[] = ["config", "set-all"];
    for (const [k, v] of Object.entries(plain)) args.push("--plaintext", `${k}=${v}`);
    for (const [k, { value, label }] of Object.entries(secret))
      args.push("--secret", secretArg(`${k}=`, value, label));
    await must(args);
  };

  const destroyStack = async (folder: string) => {
    await run(["destroy", "--yes"]);
    live.set(folder, { destroyed: true });
    await must(["stack", "rm", STACK, "--yes"]);
    live.delete(folder);
  };

  let failed = true;
  try {
    say(
      `Dynamiq emulator on ${d.baseUrl} (org ${d.orgId}, project ${d.projectId}, service ${d.serviceId}), ` +
        `with Flightcontrol and DYPAI beside it`,
    );
    say("state, Pulumi's home and the provider's journal go to a temporary folder, removed at the end");
    session.exportVar("PULUMI_BACKEND_URL", `file://${dirs.backend}`);
    session.exportVar("PULUMI_CONFIG_PASSPHRASE", secretArg("", passphrase, "a passphrase"));
    session.exportVar("PULUMI_HOME", dirs.home);
    session.exportVar("DYNAMIQ_PROVIDER_JOURNAL", dirs.journal);
    const version = (await must(["version"])).trim();
    check(version === cli.version, `pulumi version printed ${version}, not ${cli.version}`);

    // ---------------------------------------------------------------------------------------------------------
    const quickstart = "examples/quickstart";
    const serviceKey = () => platform.serviceEnv(d.serviceId, "DYNAMIQ_ACCESS_KEY");
    const remember = async () => audit.add(await serviceKey());

    heading(
      "examples/quickstart: two connections, a project key with rotation, a deployment that receives it",
    );
    await initStack(
      quickstart,
      { orgId: d.orgId, projectId: d.projectId, serviceId: d.serviceId, "dynamiq:baseUrl": d.baseUrl },
      {
        "dynamiq:token": { value: d.userPat, label: "the emulator's PAT" },
        openaiApiKey: { value: secrets.openaiApiKey, label: "an OpenAI API key" },
        dbPassword: { value: secrets.dbPassword, label: "a database password" },
      },
    );
    await run(["up", "--yes"]);
    await remember();
    const firstKey = await serviceKey();
    const works = await platform.keyWorks(firstKey);
    say(`the service runs with key ${keyPreview(firstKey)}; the deployed endpoint accepts it: ${works}`);
    check(works, "the deployed service's key is refused by its endpoint");

    heading("up again: nothing changed, so no API call");
    await run(["up", "--yes"], { calls: 0 });

    heading("a change: the database host and the log level");
    await must(["config", "set", "dbHost", "analytics-replica.db.internal"]);
    await must(["config", "set", "logLevel", "debug"]);
    say("the connection updates in place; a new variable is a new deployment");
    await run(["preview", "--diff"]);
    await run(["up", "--yes"]);
    await remember();

    heading("drift: someone edits the database connection by hand");
    const connectionId = (await outputs()).analyticsConnectionId;
    await platform.admin("tamper", {
      kind: "connection",
      id: connectionId,
      patch: { config: { host: "rogue.example.com" } },
    });
    say(
      `the host of connection ${connectionId} is now rogue.example.com (changed in the emulator, not by Pulumi)`,
    );
    say("the CI drift check:");
    const drift = await run(["preview", "--refresh", "--expect-no-changes"], { exit: "nonzero" });
    say(`drift found: the check fails with exit code ${drift.code}, as CI needs`);
    await run(["up", "--refresh", "--yes"]);
    say("the declared config is back; the same check passes again:");
    await run(["preview", "--refresh", "--expect-no-changes"]);

    heading("rotation: 31 days pass for the backend key");
    const keyId = (await outputs()).backendKeyId;
    await platform.admin("age", { kind: "access_key", id: keyId, days: 31 });
    say("(the emulator moves the key's creation date back 31 days; it is rotated after 30)");
    await run(["preview", "--refresh"]);
    say(
      "while the up runs, the demo keeps checking that the key the service holds is accepted by its endpoint",
    );
    const stopWatch = platform.watch(
      async () => ({ service: await serviceKey() }),
      (k) => audit.add(k),
    );
    let watched: { checks: number; refused: number };
    try {
      await run(["up", "--refresh", "--yes"]);
    } finally {
      watched = await stopWatch();
    }
    const newKey = await serviceKey();
    audit.add(newKey);
    const [oldWorks, newWorks] = [await platform.keyWorks(firstKey), await platform.keyWorks(newKey)];
    say(`the service now holds ${keyPreview(newKey)}, before ${keyPreview(firstKey)}`);
    say(`the old key is accepted: ${oldWorks}; the new key is accepted: ${newWorks}`);
    say(
      `during the up the service's key was checked ${watched.checks} times and refused ${watched.refused} times`,
    );
    check(newKey !== firstKey && newWorks && !oldWorks, "the key was not rotated");
    check(watched.refused === 0, "the service held a revoked key during the rotation");
    check(watched.checks > 0, "the watcher made no check");

    heading("destroy");
    await destroyStack(quickstart);
    const revoked = !(await platform.keyWorks(newKey));
    say(
      `connections deleted and the key revoked (the endpoint refuses it: ${revoked}); the service keeps ` +
        `running its last deployment, as the platform has no endpoint to delete one`,
    );
    check(revoked, "destroy did not revoke the key");

    // ---------------------------------------------------------------------------------------------------------
    const multi = "examples/multi-platform";
    const ids = {
      dynamiqServiceId: d.serviceId,
      flightcontrolServiceId: emu.flightcontrol.serviceId,
      dypaiEngineId: emu.dypai.engineId,
    };
    const held = async (): Promise<Held> => {
      const h = await platform.heldByConsumers(ids);
      audit.add(...Object.values(h));
      return h;
    };
    const show = (h: Held) => {
      for (const [consumer, key] of Object.entries(h)) say(`${consumer.padEnd(13)} holds ${keyPreview(key)}`);
    };

    heading("examples/multi-platform: one key, three platforms (Dynamiq, Flightcontrol, DYPAI)");
    await initStack(
      multi,
      {
        orgId: d.orgId,
        projectId: d.projectId,
        ...ids,
        "dynamiq:baseUrl": d.baseUrl,
        "flightcontrol:baseUrl": emu.flightcontrol.baseUrl,
        "dypai:baseUrl": emu.dypai.baseUrl,
      },
      {
        "dynamiq:token": { value: d.userPat, label: "the emulator's PAT" },
        "flightcontrol:apiKey": { value: emu.flightcontrol.apiKey, label: "a Flightcontrol API key" },
        "dypai:token": { value: emu.dypai.token, label: "a DYPAI token" },
      },
    );
    await run(["up", "--yes"]);
    const old = await held();
    show(old);
    check(
      Object.values(old).every((k) => k !== undefined && k === old.dynamiq),
      "the consumers do not all hold the new key",
    );

    heading("the cross-platform rotation: 31 days pass for the shared key");
    await platform.admin("age", { kind: "access_key", id: (await outputs()).keyId, days: 31 });
    say("while the up runs, the demo keeps checking the key each of the three consumers holds");
    const stopMulti = platform.watch(held, (k) => audit.add(k));
    let multiWatched: { checks: number; refused: number };
    try {
      await run(["up", "--refresh", "--yes"]);
    } finally {
      multiWatched = await stopMulti();
    }
    const now = await held();
    show(now);
    const [oldMulti, newMulti] = [await platform.keyWorks(old.dynamiq), await platform.keyWorks(now.dynamiq)];
    say(`the old key is accepted: ${oldMulti}; the new key is accepted: ${newMulti}`);
    say(
      `the consumers were checked ${multiWatched.checks} times; a consumer held a revoked key ` +
        `${multiWatched.refused} times`,
    );
    check(
      Object.values(now).every((k) => k === now.dynamiq) &&
        now.dynamiq !== old.dynamiq &&
        newMulti &&
        !oldMulti,
      "the shared key was not rotated on every consumer",
    );
    check(multiWatched.refused === 0, "a consumer held a revoked key during the rotation");

    heading("destroy");
    await destroyStack(multi);

    heading("secret audit");
    const elsewhere = audit.count({
      ...filesUnder(dirs.home),
      ...filesUnder(dirs.journal),
      "what the demo printed": session.transcript.join("\n"),
      "the CLI's whole output": session.outputs.join("\n"),
    });
    say(
      `${audit.size} secret values (tokens, passwords, every key minted); plaintext secrets found in state ` +
        `after every step: 0`,
    );
    say(
      `found in everything printed (and in the CLI's output before shortening), Pulumi's home folder and the ` +
        `provider's journal: ${elsewhere}`,
    );
    check(elsewhere === 0, "a secret was printed or written outside the state");
    failed = false;
  } finally {
    if (failed && live.size > 0) {
      heading("cleaning up after the failure");
      for (const [folder, { destroyed }] of live) {
        session.cd(folder);
        if (!destroyed) await session.pulumi(["destroy", "--yes"]);
        await session.pulumi(["stack", "rm", STACK, "--yes", "--force"]);
      }
    }
    await emu.close();
    fs.rmSync(work, { recursive: true, force: true });
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  session.print();
  session.note(`demo finished in ${Math.round((Date.now() - started) / 1000)} s`);
}

main().catch((e: unknown) => {
  console.error(`demo failed: ${e instanceof DemoFailure ? e.message : e instanceof Error ? e.stack : e}`);
  process.exit(1);
});

// The main job: start the Dynamiq emulator, then drive examples/quickstart through the engine harness the way a
// team would with `pulumi`: up, a no-op up, a change, drift found by refresh, destroy. Secret values are never
// printed; the run ends by scanning the state file for them.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmulator } from "../emulator/server";
import { run, type RunOptions, type RunResult } from "../harness/engine";

const root = path.resolve(__dirname, "..", "..");
const quickstart = path.join(root, "examples", "quickstart");

function heading(text: string): void {
  console.log(`\n== ${text}`);
}

function summary(r: RunResult): void {
  for (const s of r.steps.filter((x) => x.op !== "same")) {
    const why = s.replaces?.length
      ? ` (replaces: ${s.replaces.join(", ")})`
      : s.diffs?.length
        ? ` (${s.diffs.join(", ")})`
        : "";
    console.log(`   ${s.op.padEnd(7)} ${s.type} ${s.name}${why}`);
  }
  const c = r.changes;
  console.log(
    `   changes: ${c.create} create, ${c.update} update, ${c.replace} replace, ${c.delete} delete, ${c.same} same (exit ${r.exitCode})`,
  );
  for (const e of r.errors) console.log(`   error: ${e}`);
}

async function main(): Promise<void> {
  const emu = await startEmulator({ port: 0, log: () => undefined });
  const d = emu.dynamiq;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "dynamiq-demo-"));
  const statePath = path.join(work, "dev.state.json");
  const secrets = {
    openaiApiKey: "sk-demo-" + Math.random().toString(36).slice(2),
    dbPassword: "pw-" + Math.random().toString(36).slice(2),
  };
  const admin = async (p: string, body?: unknown) => {
    const res = await fetch(
      `${d.baseUrl}/_admin/${p}`,
      body === undefined
        ? {}
        : { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } },
    );
    return res.json() as Promise<Record<string, unknown>>;
  };
  const seenKeys: string[] = [];
  // After every step: no secret value may appear in the state file outside Pulumi's secret envelope.
  let leaks = 0;
  const audit = (file: string) => {
    const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    leaks += [
      d.userPat,
      emu.flightcontrol.apiKey,
      emu.dypai.token,
      ...Object.values(secrets),
      ...seenKeys,
    ].filter((s) => text.includes(s)).length;
  };
  // Management API calls only; the checks against the deployed endpoint are not the provider's.
  const apiCalls = async () => {
    const { routes } = (await admin("requests")) as { routes: Record<string, number> };
    return Object.entries(routes).reduce((n, [route, c]) => (route.includes("/apps/") ? n : n + c), 0);
  };
  const engine = async (title: string, opts: Partial<RunOptions> & Pick<RunOptions, "verb">) => {
    heading(title);
    const before = await apiCalls();
    const r = await run({ programDir: quickstart, statePath, ...opts });
    summary(r);
    console.log(`   API calls: ${(await apiCalls()) - before}`);
    const held = await runtimeKey().catch(() => undefined);
    if (held && !seenKeys.includes(held)) seenKeys.push(held);
    audit(opts.statePath ?? statePath);
    if (r.exitCode !== 0 && !opts.expectNoChanges) throw new Error(`${opts.verb} failed`);
    return r;
  };

  console.log(
    `Dynamiq emulator on ${d.baseUrl} (org ${d.orgId}, project ${d.projectId}, service ${d.serviceId})`,
  );
  console.log(`state file: ${statePath}`);
  const runtimeKey = async () => {
    const rt = (await admin(`services/${d.serviceId}/runtime`)) as { env?: Record<string, string> };
    return rt.env?.DYNAMIQ_ACCESS_KEY;
  };
  const keyWorks = async (key: string | undefined) =>
    key !== undefined &&
    (
      await fetch(`${d.baseUrl}/apps/${d.serviceId}/invoke`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}` },
      })
    ).status === 200;
  try {
    const first = await engine(
      "up: two connections, a project-scoped key with rotation, a deployment that receives it",
      {
        verb: "up",
        config: {
          orgId: d.orgId,
          projectId: d.projectId,
          serviceId: d.serviceId,
          "dynamiq:baseUrl": d.baseUrl,
        },
        secrets: { "dynamiq:token": d.userPat, ...secrets },
      },
    );
    console.log(`   key ${first.outputs.backendKeyPreview} expires ${first.outputs.backendKeyExpiresAt}`);
    const firstKey = await runtimeKey();
    console.log(
      `   the service runs with the key and it works at the deployed endpoint: ${await keyWorks(firstKey)}`,
    );

    await engine("up again: nothing changed, so no API call", { verb: "up" });

    await engine(
      "change the database host and the log level: the connection updates in place, the service redeploys",
      {
        verb: "up",
        config: { dbHost: "analytics-replica.db.internal", logLevel: "debug" },
      },
    );

    heading("someone edits the database connection by hand");
    const id = String(first.outputs.analyticsConnectionId);
    await admin("tamper", { kind: "connection", id, patch: { config: { host: "rogue.example.com" } } });
    console.log(`   host of ${id} changed out of band`);

    const drift = await engine("CI drift check: preview --refresh --expect-no-changes", {
      verb: "preview",
      refresh: true,
      expectNoChanges: true,
    });
    console.log(
      drift.exitCode !== 0 ? "   drift detected: the check fails, as CI should" : "   no drift found",
    );

    await engine("up --refresh: the declared config is restored", { verb: "up", refresh: true });
    await engine("preview --refresh --expect-no-changes: clean again", {
      verb: "preview",
      refresh: true,
      expectNoChanges: true,
    });

    heading("31 days pass for the backend key (the emulator moves its creation date back)");
    await admin("age", { kind: "access_key", id: String(first.outputs.backendKeyId), days: 31 });
    // Rotation counts from the creation time on the platform; refresh reads it (in real life the creation time
    // recorded at create is already right, and time simply passes).
    await engine("preview --refresh: the key is due for rotation", { verb: "preview", refresh: true });

    // While `up` rotates the key, keep checking that whatever key the service holds still works.
    let checks = 0;
    let failures = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        checks++;
        if (!(await keyWorks(await runtimeKey()))) failures++;
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const before = await runtimeKey();
    const rotated = await engine("up --refresh: new key, redeploy with it, then revoke the old key", {
      verb: "up",
      refresh: true,
    });
    watching = false;
    await watcher;
    const after = await runtimeKey();
    console.log(
      `   new key ${rotated.outputs.backendKeyPreview}; the service holds a different key than before: ${after !== before}`,
    );
    console.log(`   old key still works: ${await keyWorks(before)}; new key works: ${await keyWorks(after)}`);
    console.log(
      `   during the run the service's key was checked ${checks} times and failed ${failures} times`,
    );
    if (failures !== 0 || (await keyWorks(before)) || !(await keyWorks(after)))
      throw new Error("rotation was not seamless");

    await engine("destroy", { verb: "destroy" });
    console.log(
      "   connections deleted and the key revoked; the service keeps running its last deployment (no delete endpoint)",
    );

    heading("one key, three platforms: Dynamiq, Flightcontrol and DYPAI");
    const multi = {
      programDir: path.join(root, "examples", "multi-platform"),
      statePath: path.join(work, "multi.state.json"),
    };
    const ids = {
      dynamiqServiceId: d.serviceId,
      flightcontrolServiceId: emu.flightcontrol.serviceId,
      dypaiEngineId: emu.dypai.engineId,
    };
    const held = async () => {
      const [fc, dy] = await Promise.all([
        admin(`flightcontrol/services/${ids.flightcontrolServiceId}/env`) as Promise<{
          variables: Record<string, { value?: string }>;
        }>,
        admin(`dypai/engines/${ids.dypaiEngineId}/secrets`) as Promise<{
          secrets: Record<string, { value?: string }>;
        }>,
      ]);
      return {
        dynamiq: await runtimeKey(),
        flightcontrol: fc.variables.DYNAMIQ_ACCESS_KEY?.value,
        dypai: dy.secrets.DYNAMIQ_ACCESS_KEY?.value,
      };
    };
    const preview = (k: string | undefined) => (k ? `${k.slice(0, 15)}...${k.slice(-3)}` : "none");
    const show = async () => {
      const h = await held();
      for (const k of Object.values(h)) if (k && !seenKeys.includes(k)) seenKeys.push(k);
      for (const [consumer, k] of Object.entries(h))
        console.log(`   ${consumer.padEnd(13)} holds ${preview(k)}`);
      return h;
    };
    const m = await engine("up: the key is delivered to all three", {
      verb: "up",
      ...multi,
      config: {
        orgId: d.orgId,
        projectId: d.projectId,
        ...ids,
        "dynamiq:baseUrl": d.baseUrl,
        "flightcontrol:baseUrl": emu.flightcontrol.baseUrl,
        "dypai:baseUrl": emu.dypai.baseUrl,
      },
      secrets: {
        "dynamiq:token": d.userPat,
        "flightcontrol:apiKey": emu.flightcontrol.apiKey,
        "dypai:token": emu.dypai.token,
      },
    });
    const old = await show();
    heading("31 days pass for the shared key");
    await admin("age", { kind: "access_key", id: String(m.outputs.keyId), days: 31 });
    let multiChecks = 0;
    const revokedSeen: string[] = [];
    let multiWatching = true;
    const multiWatcher = (async () => {
      while (multiWatching) {
        multiChecks++;
        for (const [consumer, k] of Object.entries(await held()))
          if (!(await keyWorks(k))) revokedSeen.push(consumer);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    await engine("up --refresh: new key to every consumer, old key revoked last", {
      verb: "up",
      refresh: true,
      ...multi,
    });
    multiWatching = false;
    await multiWatcher;
    const now = await show();
    console.log(
      `   the old key works: ${await keyWorks(old.dynamiq)}; the new key works: ${await keyWorks(now.dynamiq)}`,
    );
    console.log(
      `   the consumers were checked ${multiChecks} times; a consumer held a revoked key ${revokedSeen.length} times`,
    );
    if (revokedSeen.length !== 0 || (await keyWorks(old.dynamiq)))
      throw new Error("the cross-platform rotation was not seamless");
    await engine("destroy", { verb: "destroy", ...multi });

    heading("secret audit");
    console.log(`   plaintext secrets found in the state file after each step: ${leaks}`);
    if (leaks !== 0) throw new Error("a secret reached the state file in plaintext");
  } finally {
    await emu.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log("\ndemo finished");
}

main().catch((e) => {
  console.error(`demo failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});

// Explicit provider instances (dynamiq.Provider, flightcontrol.Provider, dypai.Provider): two organisations with
// two tokens in one stack, what a token change does, secrets of instances, and instances a resource cannot use.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import {
  Stack,
  admin,
  api,
  closeAndAudit,
  auditSecrets,
  emulator,
  ops,
  program,
  requests,
  resetRequests,
} from "../support";

let emu: Emulator;
let users: { userId: string; otherUserId: string };
const mint = (user: "seed" | "other", name: string) =>
  admin<{ id: string; key: string }>(emu, "mint", { kind: "pat", user, name });

beforeAll(async () => {
  emu = await emulator();
  users = await admin(emu, "seed");
});
// The suite's secret-leak audit (test/support/leaks.ts) runs after the emulator closes: the figure is zero.
afterAll(() => closeAndAudit(emu, "provider-instances"));

const twoOrgs = (tokens: { tokenA: string; tokenB: string }) =>
  new Stack(program("two-orgs"), {
    config: {
      baseUrl: emu.baseUrl,
      "dynamiq:baseUrl": emu.baseUrl,
      projectA: emu.dynamiq.projectId,
      projectB: emu.dynamiq.otherProjectId,
      orgB: emu.dynamiq.otherOrgId,
    },
    secrets: {
      "dynamiq:token": emu.dynamiq.userPat,
      ...tokens,
      apiKeyA: "sk-org-a-" + "1".repeat(24),
      apiKeyB: "sk-org-b-" + "2".repeat(24),
    },
  });

/** The stored inputs of the provider instance `name`, as `pulumi stack export` shows them (secrets encrypted). */
async function instanceInputs(stack: Stack, name: string): Promise<Record<string, unknown>> {
  const state = await (await stack.project()).exportState(false);
  const r = state.deployment.resources?.find(
    (x) => x.type === "pulumi:providers:pulumi-nodejs" && x.urn.endsWith(`::${name}`),
  );
  expect(r, `provider ${name} in state`).toBeDefined();
  return r!.inputs ?? {};
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

describe("two organisations in one stack", () => {
  it("each resource's calls carry its own provider's token, in up, refresh and destroy", async () => {
    const tokenB = (await mint("other", "org-b-automation")).key;
    auditSecrets(tokenB);
    const stack = twoOrgs({ tokenA: emu.dynamiq.userPat, tokenB });
    await resetRequests(emu);
    const up = await stack.run("up");
    expect(up.exitCode, up.log).toBe(0);
    expect(ops(up)).toEqual({ create: 4 });
    let counts = await requests(emu);
    // Org A (the seed user): two connections; org B (the other user): a connection and an access key.
    expect(counts.callers).toEqual({ [users.userId]: 2, [users.otherUserId]: 2 });
    const inB = await api<Array<{ id: string }>>(
      emu,
      "GET",
      `/v1/connections?project_id=${emu.dynamiq.otherProjectId}`,
      undefined,
      tokenB,
    );
    expect(inB.map((c) => c.id)).toEqual([up.outputs.connectionB]);
    // The instances' tokens are stored encrypted, under the keys the host reads; no plaintext anywhere (the
    // suite's leak audit scans state, backend files, `__provider`, output and errors for both).
    for (const name of ["org-a", "org-b"]) {
      const inputs = await instanceInputs(stack, name);
      expect(inputs["pulumi-dynamiq:platform"]).toBe("dynamiq");
      expect(inputs["dynamiq:baseUrl"]).toBe(emu.baseUrl);
      expect(inputs["dynamiq:token"]).toMatchObject({ [SECRET_SIG]: "1b47061264138c4ac30d75fd1eb44270" });
      expect(JSON.stringify(inputs)).not.toContain("dyn_pat_");
    }
    expect(await stack.leaks([emu.dynamiq.userPat, tokenB])).toEqual([]);

    await resetRequests(emu);
    const refresh = await stack.run("refresh");
    expect(refresh.exitCode, refresh.log).toBe(0);
    counts = await requests(emu);
    expect(counts.callers).toEqual({ [users.userId]: 2, [users.otherUserId]: 2 });

    await resetRequests(emu);
    const destroy = await stack.run("destroy");
    expect(destroy.exitCode, destroy.log).toBe(0);
    expect(ops(destroy)).toEqual({ delete: 4 });
    counts = await requests(emu);
    expect(counts.callers).toEqual({ [users.userId]: 2, [users.otherUserId]: 2 });
  });

  it("a new token or base URL on an instance updates the instance only: 0 replacements, 0 calls; later runs use the new token", async () => {
    const [oldA, newA, tokenB] = [
      await mint("seed", "org-a-old"),
      await mint("seed", "org-a-new"),
      await mint("other", "org-b"),
    ];
    auditSecrets(oldA.key, newA.key, tokenB.key);
    const stack = twoOrgs({ tokenA: oldA.key, tokenB: tokenB.key });
    const up = await stack.run("up");
    expect(up.exitCode, up.log).toBe(0);

    await resetRequests(emu);
    // A new base URL (the same emulator, named differently) on both instances, and a new token on org A.
    const moved = { baseUrl: emu.baseUrl.replace("127.0.0.1", "localhost") };
    const preview = await stack.run("preview", { config: moved, secrets: { tokenA: newA.key }, diff: true });
    expect(preview.exitCode, preview.log).toBe(0);
    const orgA = preview.steps.find((s) => s.name === "org-a");
    expect(orgA?.op).toBe("update");
    expect(preview.steps.find((s) => s.name === "org-b")?.op).toBe("update");
    // The engine shows the update with the changed key hidden inside a secret ("[secret]"); the diff is not
    // reported per key for a provider whose DiffConfig is not implemented (the dynamic host's).
    expect(preview.log).toMatch(
      /~ pulumi:providers:pulumi-nodejs: \(update\)[\s\S]*::org-a\][\s\S]*dynamiq:token\s*: \[secret\]/,
    );
    expect(ops(preview)).toEqual({ same: 4 });
    expect(preview.log).not.toContain(newA.key);
    const applied = await stack.run("up", { config: moved, secrets: { tokenA: newA.key } });
    expect(applied.exitCode, applied.log).toBe(0);
    expect(ops(applied)).toEqual({ same: 4 });
    expect((await requests(emu)).total).toBe(0);

    // The old token is revoked: refresh and destroy of org A's resources authenticate with the new one.
    await api(emu, "DELETE", `/v1/personal-access-tokens/${oldA.id}`);
    await resetRequests(emu);
    const refresh = await stack.run("refresh", { config: moved, secrets: { tokenA: newA.key } });
    expect(refresh.exitCode, refresh.log).toBe(0);
    expect((await requests(emu)).callers[users.userId]).toBe(2);
    const destroy = await stack.run("destroy", { config: moved, secrets: { tokenA: newA.key } });
    expect(destroy.exitCode, destroy.log).toBe(0);
    expect(ops(destroy)).toEqual({ delete: 4 });
  });
});

describe("Flightcontrol and DYPAI instances", () => {
  it("serve their resources with no flightcontrol:* or dypai:* stack config; their credentials are secrets in state", async () => {
    const stack = new Stack(program("companion-instances"), {
      config: {
        fcBaseUrl: emu.flightcontrol.baseUrl,
        fcServiceId: emu.flightcontrol.serviceId,
        dypaiBaseUrl: emu.dypai.baseUrl,
        engineId: emu.dypai.engineId,
      },
      secrets: {
        fcApiKey: emu.flightcontrol.apiKey,
        dypaiToken: emu.dypai.token,
        value: "sk-backend-" + "4".repeat(24),
      },
    });
    const up = await stack.run("up");
    expect(up.exitCode, up.log).toBe(0);
    expect(ops(up)).toEqual({ create: 2 });
    const fcEnv = await admin<{ variables: Record<string, { value?: string }> }>(
      emu,
      `flightcontrol/services/${emu.flightcontrol.serviceId}/env`,
    );
    expect(fcEnv.variables.LOG_LEVEL?.value).toBe("info");
    expect((await instanceInputs(stack, "fc"))["flightcontrol:apiKey"]).toMatchObject({
      [SECRET_SIG]: expect.any(String),
    });
    expect((await instanceInputs(stack, "engine"))["dypai:token"]).toMatchObject({
      [SECRET_SIG]: expect.any(String),
    });
    const change = await stack.run("up", { config: { logLevel: "debug" } });
    expect(change.exitCode, change.log).toBe(0);
    expect(ops(change)).toEqual({ update: 1, same: 1 });
    const destroy = await stack.run("destroy", { config: { logLevel: "debug" } });
    expect(destroy.exitCode, destroy.log).toBe(0);
    expect(ops(destroy)).toEqual({ delete: 2 });
  });
});

describe("an instance a resource cannot use", () => {
  const misuse = (kind: string) =>
    new Stack(program("provider-misuse"), {
      config: { baseUrl: emu.baseUrl, projectId: emu.dynamiq.projectId, misuse: kind },
      secrets: { apiKey: "sk-misuse-" + "3".repeat(24) },
    });

  it.each([
    [
      "wrong-platform",
      /this Connection was given flightcontrol\.Provider "fc", a provider of another platform; give it a dynamiq\.Provider/,
    ],
    ["no-token", /dynamiq\.Provider "org-a" has no token; set `token` in its arguments/],
    ["no-base-url", /dypai\.Provider "engine" has no baseUrl; set `baseUrl` in its arguments/],
  ])(
    "%s: fails at preview and at up, naming the provider and the setting, with 0 API calls",
    async (kind, message) => {
      const stack = misuse(kind);
      await resetRequests(emu);
      for (const verb of ["preview", "up"] as const) {
        const r = await stack.run(verb);
        expect(r.exitCode).not.toBe(0);
        expect(r.errors.join("\n")).toMatch(message);
      }
      expect((await requests(emu)).total).toBe(0);
      expect(
        await stack.resources().then((rs) => rs.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"))),
      ).toEqual([]);
    },
  );
});

describe("rotating an instance's own token", () => {
  const status = async (token: string) =>
    (
      await fetch(`${emu.baseUrl}/v1/personal-access-tokens?page_size=1`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).status;

  it("never cuts the run off: the old token is revoked by the run after the instance takes the new one", async () => {
    const own = await mint("seed", "provider-token");
    auditSecrets(own.key);
    const stack = new Stack(program("instance-token"), {
      config: { baseUrl: emu.baseUrl, adoptPatId: own.id },
      secrets: { orgToken: own.key },
    });
    const adopted = await stack.run("up");
    expect(adopted.exitCode, adopted.log).toBe(0);
    expect(adopted.outputs.patId).toBe(own.id);

    const rotate = await stack.run("up", { config: { patTrigger: "rotate", adoptPatId: "" } });
    expect(rotate.exitCode).not.toBe(0);
    expect(rotate.errors.join("\n")).toMatch(
      /is the credential this provider is using, so it is not revoked now: set the token of dynamiq\.Provider "org" to the new token/,
    );
    expect(await status(own.key)).toBe(200);
    const fresh = (await stack.resources()).find((x) => x.id === rotate.outputs.patId)!.outputs!
      .key as string;
    expect(fresh).toMatch(/^dyn_pat_/);
    auditSecrets(fresh);

    const finish = await stack.run("up", {
      config: { patTrigger: "rotate", adoptPatId: "" },
      secrets: { orgToken: fresh },
    });
    expect(finish.exitCode, finish.log).toBe(0);
    expect(await status(own.key)).toBe(401);
    expect(await status(fresh)).toBe(200);
    expect((await stack.resources()).filter((x) => x.type.endsWith("PersonalAccessToken"))).toHaveLength(1);
  });
});

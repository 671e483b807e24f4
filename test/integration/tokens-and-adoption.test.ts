// Personal access tokens (including rotating the provider's own token), adoption of existing objects, OAuth
// connections and opt-in secret drift on connections.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/server";
import {
  Stack,
  admin,
  api,
  checkFailure,
  droppedByRefresh,
  emulator,
  ops,
  program,
  requests,
  resetRequests,
  closeAndAudit,
  stepOf,
} from "../support";

let emu: Emulator;
const base = (extra: Record<string, string> = {}) => ({
  config: {
    orgId: emu.dynamiq.orgId,
    projectId: emu.dynamiq.projectId,
    serviceId: emu.dynamiq.serviceId,
    "dynamiq:baseUrl": emu.baseUrl,
    ...extra,
  },
  secrets: { "dynamiq:token": emu.dynamiq.userPat },
});
const status = async (token: string) =>
  (
    await fetch(`${emu.baseUrl}/v1/personal-access-tokens?page_size=1`, {
      headers: { authorization: `Bearer ${token}` },
    })
  ).status;

beforeAll(async () => {
  emu = await emulator();
});
// The suite's secret-leak audit (test/support/leaks.ts) runs after the emulator closes: the figure is zero.
afterAll(() => closeAndAudit(emu, "tokens-and-adoption"));

describe("PersonalAccessToken", () => {
  it("creates a working token, rotates it on a trigger and revokes the old one", async () => {
    const stack = new Stack(
      program("credentials"),
      base({ pat: "true", deploy: "false", scope: "org", keyName: "pat-suite", patExpiresInDays: "30" }),
    );
    const r = await stack.run("up");
    expect(r.exitCode, r.log).toBe(0);
    const first = (await stack.resources()).find((x) => x.id === r.outputs.patId)!.outputs!.key as string;
    expect(first).toMatch(/^dyn_pat_/);
    expect(await status(first)).toBe(200);
    const rotated = await stack.run("up", { config: { patTrigger: "2026-q4" } });
    expect(rotated.exitCode, rotated.log).toBe(0);
    expect(stepOf(rotated, "pat")).toMatchObject({ op: "replace", replaces: ["rotation.trigger"] });
    const second = (await stack.resources()).find((x) => x.id === rotated.outputs.patId)!.outputs!
      .key as string;
    expect(await status(first)).toBe(401);
    expect(await status(second)).toBe(200);
    expect(await stack.leaks([first, second])).toEqual([]);
    expect((await stack.run("destroy")).exitCode).toBe(0);
    expect(await status(second)).toBe(401);
  });

  it("makes no call on a no-op, replaces on an out-of-band rename, drops on an out-of-band revocation, rejects bad names", async () => {
    const stack = new Stack(
      program("credentials"),
      base({ pat: "true", deploy: "false", scope: "org", keyName: "pat-drift", patName: "drift-token" }),
    );
    const r = await stack.run("up");
    expect(r.exitCode, r.log).toBe(0);
    await resetRequests(emu);
    const same = await stack.run("up");
    expect(ops(same)).toEqual({ same: 2 });
    expect((await requests(emu)).total).toBe(0);
    await admin(emu, "tamper", {
      kind: "personal_access_token",
      id: r.outputs.patId,
      patch: { name: "renamed-by-hand" },
    });
    await admin(emu, "tamper", {
      kind: "access_key",
      id: r.outputs.keyId,
      patch: { name: "renamed-by-hand" },
    });
    const drift = await stack.run("preview", { refresh: true, expectNoChanges: true });
    expect(drift.exitCode, drift.log).toBe(7);
    expect(stepOf(drift, "pat")).toMatchObject({ op: "replace", replaces: ["name"] });
    expect(stepOf(drift, "key")).toMatchObject({ op: "replace", replaces: ["name"] });
    const fixed = await stack.run("up", { refresh: true });
    expect(fixed.exitCode, fixed.log).toBe(0);
    await api(emu, "DELETE", `/v1/personal-access-tokens/${fixed.outputs.patId}`);
    const gone = await stack.run("refresh");
    expect(gone.exitCode, gone.log).toBe(0);
    expect(droppedByRefresh(gone, "pat")).toBe(true);
    expect((await stack.resources()).some((x) => x.id === fixed.outputs.patId)).toBe(false);
    await resetRequests(emu);
    const bad = await stack.run("up", { config: { patName: "ends with space " } });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.log).toMatch(checkFailure("name", "must start and end with a letter or digit"));
    expect((await requests(emu)).total).toBe(0);
    expect((await stack.run("destroy")).exitCode).toBe(0);
  });

  it("refuses to run with an Access Key before any call, saying a Personal Access Token is needed", async () => {
    const accessKey = (
      await api<{ key: string }>(emu, "POST", "/v1/access-keys", {
        name: "not-a-pat",
        org_id: emu.dynamiq.orgId,
      })
    ).key;
    const stack = new Stack(program("credentials"), {
      ...base({ pat: "true", deploy: "false" }),
      secrets: { "dynamiq:token": accessKey },
    });
    await resetRequests(emu);
    const r = await stack.run("up");
    expect(r.exitCode).not.toBe(0);
    expect(r.log).toMatch(/needs a Personal Access Token/);
    expect(r.log).not.toContain(accessKey);
    expect((await requests(emu)).total).toBe(0);
  });

  it("rotating the provider's own token never cuts the run off: the old token is revoked by the next run", async () => {
    const own = await admin<{ id: string; key: string }>(emu, "mint", {
      kind: "pat",
      name: "provider-token",
    });
    const stack = new Stack(program("credentials"), {
      ...base({
        pat: "true",
        deploy: "false",
        scope: "org",
        keyName: "self-rotation",
        patName: "provider-token",
        adoptPatId: own.id,
      }),
      secrets: { "dynamiq:token": own.key },
    });
    await resetRequests(emu);
    const adopted = await stack.run("up");
    expect(adopted.exitCode, adopted.log).toBe(0);
    expect(adopted.outputs.patId).toBe(own.id);
    expect((await requests(emu)).routes["POST /v1/personal-access-tokens"]).toBeUndefined();

    const rotate = await stack.run("up", { config: { patTrigger: "rotate-own", adoptPatId: "" } });
    expect(rotate.exitCode).not.toBe(0);
    expect(rotate.log).toMatch(/is the credential this provider is using/);
    expect(rotate.log).not.toContain(own.key);
    expect(await status(own.key)).toBe(200);
    const fresh = (await stack.resources()).find((x) => x.id === rotate.outputs.patId)!.outputs!
      .key as string;
    expect(fresh).toMatch(/^dyn_pat_/);

    const finish = await stack.run("up", {
      config: { patTrigger: "rotate-own", adoptPatId: "" },
      secrets: { "dynamiq:token": fresh },
    });
    expect(finish.exitCode, finish.log).toBe(0);
    expect(await status(own.key)).toBe(401);
    expect(await status(fresh)).toBe(200);
    expect((await stack.resources()).filter((x) => x.type.endsWith("PersonalAccessToken"))).toHaveLength(1);
    // The stack's own token is now `fresh`, recorded in state by that up. A plain destroy configures the
    // provider from state, so revoking `fresh` is refused like any revocation of the provider's own credential.
    const refused = await stack.run("destroy", { secrets: { "dynamiq:token": emu.dynamiq.userPat } });
    expect(refused.exitCode).not.toBe(0);
    expect(refused.log).toMatch(/is the credential this provider is using/);
    expect(await status(fresh)).toBe(200);
    // `--run-program` configures it from the stack config instead: another PAT, which may revoke `fresh`.
    const destroyed = await stack.run("destroy", {
      secrets: { "dynamiq:token": emu.dynamiq.userPat },
      runProgram: true,
    });
    expect(destroyed.exitCode, destroyed.log).toBe(0);
    expect(await status(fresh)).toBe(401);
  });
});

describe("adoption", () => {
  it("adopts an existing access key by id without creating one, and revokes it on destroy", async () => {
    const existing = await api<{ id: string; key: string }>(emu, "POST", "/v1/access-keys", {
      name: "legacy-key",
      org_id: emu.dynamiq.orgId,
      project_id: emu.dynamiq.projectId,
    });
    const stack = new Stack(
      program("credentials"),
      base({ deploy: "false", keyName: "legacy-key", adoptKeyId: existing.id }),
    );
    await resetRequests(emu);
    const r = await stack.run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(r.outputs.keyId).toBe(existing.id);
    expect((await requests(emu)).routes).toEqual({ "GET /v1/access-keys/:id": 1 });
    // The secret was shown once, to whoever created the key: it cannot be recovered.
    expect((await stack.resources()).find((x) => x.id === existing.id)?.outputs?.key).toBeUndefined();
    const wrongScope = new Stack(
      program("credentials"),
      base({ deploy: "false", scope: "org", keyName: "legacy-key", adoptKeyId: existing.id }),
    );
    const refused = await wrongScope.run("up");
    expect(refused.exitCode).not.toBe(0);
    expect(refused.log).toMatch(/declare its real scope/);
    expect((await stack.run("destroy")).exitCode).toBe(0);
    expect(
      (
        await fetch(`${emu.baseUrl}/apps/${emu.dynamiq.serviceId}/invoke`, {
          method: "POST",
          headers: { authorization: `Bearer ${existing.key}` },
        })
      ).status,
    ).toBe(401);
  });

  it("adopts an existing connection and applies the declared config with one PUT", async () => {
    const existing = await api<{ id: string }>(emu, "POST", "/v1/connections", {
      name: "hand-made",
      project_id: emu.dynamiq.projectId,
      type: "dynamiq.connections.OpenAI",
      config: { api_key: "sk-old" },
    });
    const stack = new Stack(program("connection"), {
      config: {
        projectId: emu.dynamiq.projectId,
        "dynamiq:baseUrl": emu.baseUrl,
        name: "hand-made",
        adoptId: existing.id,
      },
      secrets: { "dynamiq:token": emu.dynamiq.userPat, apiKey: "sk-new" },
    });
    await resetRequests(emu);
    const r = await stack.run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(r.outputs.id).toBe(existing.id);
    expect((await requests(emu)).routes).toEqual({
      "GET /v1/connections/:id": 1,
      "PUT /v1/connections/:id": 1,
    });
    expect(
      (await api<{ config: { api_key: string } }>(emu, "POST", `/v1/connections/${existing.id}/credentials`))
        .config.api_key,
    ).toBe("sk-new");
    expect((await stack.run("destroy")).exitCode).toBe(0);
  });

  it("adopts an existing deployment without deploying", async () => {
    const dep = await api<{ id: string }>(emu, "POST", `/v1/services/${emu.dynamiq.serviceId}/deploy`, {
      image: "registry.example.com/app:1.0.0",
      env: [{ name: "LOG_LEVEL", value: "info" }],
    });
    await admin(emu, `services/${emu.dynamiq.serviceId}/finish-deploys`, {});
    const stack = new Stack(
      program("credentials"),
      base({ keyName: "adopt-dep", adoptDeploymentId: dep.id }),
    );
    await resetRequests(emu);
    const r = await stack.run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(r.outputs.deploymentId).toBe(dep.id);
    expect((await requests(emu)).routes["POST /v1/services/:id/deploy"]).toBeUndefined();
    expect((await stack.run("destroy")).exitCode).toBe(0);
  });
});

describe("Connection, finished", () => {
  it("exposes the consent URL of an OAuth connection and its status until authorised", async () => {
    const stack = new Stack(program("connection"), {
      config: {
        projectId: emu.dynamiq.projectId,
        "dynamiq:baseUrl": emu.baseUrl,
        name: "drive",
        type: "dynamiq.connections.GoogleOAuth2",
        extraConfig: '{"scopes":["drive.readonly"]}',
      },
      secrets: { "dynamiq:token": emu.dynamiq.userPat, apiKey: "unused" },
    });
    const r = await stack.run("up");
    expect(r.exitCode, r.log).toBe(0);
    expect(r.outputs.status).toBe("incomplete");
    expect(String(r.outputs.authorizationUrl)).toMatch(/^https?:\/\//);
    await admin(emu, `connections/${r.outputs.id}/authorize`, {});
    const refreshed = await stack.run("up", { refresh: true });
    expect(refreshed.outputs.status).toBe("active");
    expect(refreshed.outputs.authorizationUrl).toBeUndefined();
    expect((await stack.run("destroy")).exitCode).toBe(0);
  });

  it("finds a credential changed out of band only when secret drift checking is on", async () => {
    const make = async (name: string, checkSecretDrift: string) => {
      const stack = new Stack(program("connection"), {
        config: { projectId: emu.dynamiq.projectId, "dynamiq:baseUrl": emu.baseUrl, name, checkSecretDrift },
        secrets: { "dynamiq:token": emu.dynamiq.userPat, apiKey: "sk-declared-value" },
      });
      const r = await stack.run("up");
      expect(r.exitCode, r.log).toBe(0);
      await admin(emu, "tamper", {
        kind: "connection",
        id: r.outputs.id,
        patch: { config: { api_key: "sk-rotated-by-hand" } },
      });
      return stack;
    };
    const watched = await make("watched", "true");
    const unwatched = await make("unwatched", "false");
    await resetRequests(emu);
    const drift = await watched.run("preview", { refresh: true, expectNoChanges: true });
    expect(drift.exitCode, drift.log).toBe(7);
    expect(ops(drift)).toMatchObject({ update: 1 });
    expect((await requests(emu)).routes).toEqual({
      "GET /v1/connections/:id": 1,
      "POST /v1/connections/:id/credentials": 1,
    });
    expect(await watched.leaks(["sk-rotated-by-hand", "sk-declared-value"])).toEqual([]);
    const quiet = await unwatched.run("preview", { refresh: true, expectNoChanges: true });
    expect(quiet.exitCode, quiet.log).toBe(0);
    const fix = await watched.run("up", { refresh: true });
    expect(fix.exitCode, fix.log).toBe(0);
    const creds = await api<{ config: { api_key: string } }>(
      emu,
      "POST",
      `/v1/connections/${fix.outputs.id}/credentials`,
    );
    expect(creds.config.api_key).toBe("sk-declared-value");
    await watched.run("destroy");
    await unwatched.run("destroy");
  });
});

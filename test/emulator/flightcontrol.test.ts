import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import type { Emulator } from "../../emulator/server";
import { admin, call, eventually, startQuiet, type Json, type Res, useSeededEmulator } from "./helpers";

let emu: Emulator;

useSeededEmulator((started) => ({ emu } = started));

const fcPath = (p: string) => `/flightcontrol${p}`;

/** A Flightcontrol call with the documented `Bearer: <key>` header. */
function fc(method: string, path: string, json?: unknown, header?: string): Promise<Res> {
  return call(emu, method, fcPath(path), {
    json,
    headers: { authorization: header ?? `Bearer: ${emu.flightcontrol.apiKey}` },
  });
}

const svc = () => emu.flightcontrol.serviceId;
const envOf = async (id = svc()): Promise<Json> =>
  (await admin(emu, "GET", `/_admin/flightcontrol/services/${id}/env`)).body;

async function waitRun(runId: string, id = svc()): Promise<Json> {
  return (
    await eventually(
      () => fc("GET", `/v1/services/${id}/env-variables/status?runId=${runId}`),
      (r) => r.body?.isFinished === true,
    )
  ).body;
}

describe("Flightcontrol: seed and auth", () => {
  it("exposes the seed under /flightcontrol", () => {
    expect(emu.flightcontrol.baseUrl).toBe(`${emu.baseUrl}/flightcontrol`);
    expect(emu.flightcontrol.apiKey).toMatch(/^fc_[A-Za-z0-9]{40}$/);
    expect(emu.flightcontrol.serviceId).toMatch(/^c[a-z0-9]{24}$/);
  });

  it("accepts the documented `Bearer: <key>` and `Bearer <key>`, refuses anything else with 401", async () => {
    const body = { plainText: { PORT: "3000" } };
    const path = `/v1/services/${svc()}/env-variables`;
    expect((await fc("POST", path, body)).status).toBe(200);
    expect((await fc("POST", path, body, `Bearer ${emu.flightcontrol.apiKey}`)).status).toBe(200);
    expect((await fc("POST", path, body, `Bearer:${emu.flightcontrol.apiKey}`)).status).toBe(200);
    const wrong = await fc("POST", path, body, "Bearer: fc_wrong");
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain(emu.flightcontrol.apiKey);
    expect((await call(emu, "POST", fcPath(path), { json: body })).status).toBe(401);
    expect((await fc("POST", path, body, `Token ${emu.flightcontrol.apiKey}`)).status).toBe(401);
    // A Dynamiq PAT is not a Flightcontrol key.
    expect((await fc("POST", path, body, `Bearer ${emu.dynamiq.userPat}`)).status).toBe(401);
  });

  it("answers 404 for an unknown service", async () => {
    expect((await fc("POST", "/v1/services/cnope/env-variables", { plainText: { A: "1" } })).status).toBe(
      404,
    );
    expect((await fc("GET", "/v1/services/cnope/env-variables")).status).toBe(404);
  });
});

describe("Flightcontrol: POST env-variables", () => {
  it("saves plainText, fromParameterStore, fromSecretsManager and fromService at once: 200 completed", async () => {
    const res = await fc("POST", `/v1/services/${svc()}/env-variables`, {
      plainText: { PORT: "3000", LOG_LEVEL: "info" },
      fromParameterStore: { EXISTING_PARAM: "/my-org/existing-parameter" },
      fromSecretsManager: { EXISTING_SECRET: "arn:aws:secretsmanager:us-east-1:123456789:secret:my-secret" },
      fromService: { REDIS_URL: { id: "redis-service-id", value: "connectionString" } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "completed", savedCount: 5 });
    const env = await envOf();
    expect(Object.keys(env.variables).sort()).toEqual([
      "EXISTING_PARAM",
      "EXISTING_SECRET",
      "LOG_LEVEL",
      "PORT",
      "REDIS_URL",
    ]);
    expect(env.variables.REDIS_URL).toMatchObject({
      group: "fromService",
      value: { id: "redis-service-id", value: "connectionString" },
    });
  });

  it("answers 202 with a runId for FC-managed secrets and stores them asynchronously", async () => {
    await admin(emu, "POST", `/_admin/flightcontrol/services/${svc()}/async-delay`, { ms: 80 });
    const res = await fc("POST", `/v1/services/${svc()}/env-variables`, {
      plainText: { PORT: "3000" },
      parameterStore: { DATABASE_PASSWORD: "db-password-123" },
      secretsManager: { API_SECRET: "super-secret-api-key" },
      fromService: { REDIS_URL: { id: "redis-service-id", value: "connectionString" } },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      status: "processing",
      runId: expect.any(String),
      savedCount: 2,
      processingCount: 2,
    });
    expect(res.text).not.toContain("db-password-123");
    const early = await fc("GET", `/v1/services/${svc()}/env-variables/status?runId=${res.body.runId}`);
    expect(early.body.isFinished).toBe(false);
    expect(early.body.totalExpectedEnvVars).toBe(2);
    expect((await envOf()).variables.DATABASE_PASSWORD).toBeUndefined();

    const done = await waitRun(res.body.runId);
    expect(done).toEqual({
      isFinished: true,
      processedEnvVariables: 2,
      totalExpectedEnvVars: 2,
      storedEnvVariables: {
        DATABASE_PASSWORD: { fromParameterStore: `/fc/${svc()}/DATABASE_PASSWORD` },
        API_SECRET: { fromSecretsManager: expect.stringMatching(/^arn:aws:secretsmanager:/) },
      },
      failedEnvVariables: {},
    });
    const env = await envOf();
    expect(env.variables.DATABASE_PASSWORD).toMatchObject({
      group: "parameterStore",
      value: "db-password-123",
    });
    expect(env.variables.API_SECRET).toMatchObject({
      group: "secretsManager",
      value: "super-secret-api-key",
    });
  });

  it("fails an armed variable name on the next run and reports it in failedEnvVariables", async () => {
    await admin(emu, "POST", `/_admin/flightcontrol/services/${svc()}/fail-next`, {
      name: "API_SECRET",
      message: "AccessDeniedException",
    });
    const res = await fc("POST", `/v1/services/${svc()}/env-variables`, {
      parameterStore: { DATABASE_PASSWORD: "pw-1" },
      secretsManager: { API_SECRET: "s-1" },
    });
    const done = await waitRun(res.body.runId);
    expect(done.storedEnvVariables).toHaveProperty("DATABASE_PASSWORD");
    expect(done.failedEnvVariables).toEqual({ API_SECRET: { error: "AccessDeniedException" } });
    expect(JSON.stringify(done)).not.toContain("s-1");
    expect((await envOf()).variables.API_SECRET).toBeUndefined();
    // Armed once: the next run stores it.
    const again = await fc("POST", `/v1/services/${svc()}/env-variables`, {
      secretsManager: { API_SECRET: "s-2" },
    });
    expect((await waitRun(again.body.runId)).failedEnvVariables).toEqual({});
  });

  it("finish-runs completes pending runs at once; a newer write supersedes a pending one", async () => {
    await admin(emu, "POST", `/_admin/flightcontrol/services/${svc()}/async-delay`, { ms: 600_000 });
    const one = await fc("POST", `/v1/services/${svc()}/env-variables`, {
      parameterStore: { A: "old-value" },
    });
    const two = await fc("POST", `/v1/services/${svc()}/env-variables`, { plainText: { A: "plain" } });
    expect(two.status).toBe(200);
    const status = await fc("GET", `/v1/services/${svc()}/env-variables/status?runId=${one.body.runId}`);
    expect(status.body.failedEnvVariables).toEqual({ A: { error: "superseded by a newer write" } });
    const three = await fc("POST", `/v1/services/${svc()}/env-variables`, {
      parameterStore: { B: "b-value" },
    });
    expect((await envOf()).pending).toEqual(["B"]);
    const fin = await admin(emu, "POST", `/_admin/flightcontrol/services/${svc()}/finish-runs`);
    expect(fin.body.finished).toEqual([three.body.runId]);
    expect((await envOf()).variables).toMatchObject({
      A: { group: "plainText", value: "plain" },
      B: { group: "parameterStore", value: "b-value" },
    });
  });

  it("validates names, groups, values and duplicates, naming the field and never quoting a value", async () => {
    const post = (body: unknown) => fc("POST", `/v1/services/${svc()}/env-variables`, body);
    const bad = await post({ plainText: { "1BAD": "x" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe("plainText.1BAD");
    const dup = await post({ plainText: { A: "1" }, parameterStore: { A: "topsecret" } });
    expect(dup.status).toBe(400);
    expect(dup.body.error.details.field).toBe("parameterStore.A");
    expect(dup.text).not.toContain("topsecret");
    expect((await post({ plainText: { A: 1 } })).status).toBe(400);
    expect((await post({ plainText: [] })).status).toBe(400);
    expect((await post({ fromService: { R: { id: "x" } } })).body.error.details.field).toBe("fromService.R");
    expect((await post({ fromSecretsManager: { S: "my-secret" } })).status).toBe(400);
    expect((await post({ fromParameterStore: { P: "relative" } })).status).toBe(400);
    expect((await post({ parameterStore: { P: "" } })).status).toBe(400);
    expect((await envOf()).variables).toEqual({});
    expect(await post({})).toMatchObject({ status: 200, body: { status: "completed", savedCount: 0 } });
  });

  it("status: runId required, unknown or foreign run 404", async () => {
    expect((await fc("GET", `/v1/services/${svc()}/env-variables/status`)).status).toBe(400);
    expect((await fc("GET", `/v1/services/${svc()}/env-variables/status?runId=nope`)).status).toBe(404);
    const other = (await admin(emu, "POST", "/_admin/flightcontrol/services", { name: "api" })).body.id;
    const res = await fc("POST", `/v1/services/${svc()}/env-variables`, { parameterStore: { A: "a-value" } });
    expect(
      (await fc("GET", `/v1/services/${other}/env-variables/status?runId=${res.body.runId}`)).status,
    ).toBe(404);
  });
});

describe("Flightcontrol: read-back and delete (assumed endpoints)", () => {
  it("lists names, groups and updatedAt; values of plain and reference groups only, never of secrets", async () => {
    await admin(emu, "POST", `/_admin/flightcontrol/services/${svc()}/async-delay`, { ms: 0 });
    const res = await fc("POST", `/v1/services/${svc()}/env-variables`, {
      plainText: { PORT: "3000" },
      parameterStore: { DB_PASSWORD: "very-secret-pw" },
      fromParameterStore: { P: "/org/p" },
    });
    await waitRun(res.body.runId);
    const list = await fc("GET", `/v1/services/${svc()}/env-variables`);
    expect(list.status).toBe(200);
    expect(list.body.envVariables).toEqual({
      DB_PASSWORD: {
        type: "parameterStore",
        reference: `/fc/${svc()}/DB_PASSWORD`,
        updatedAt: expect.any(String),
      },
      P: { type: "fromParameterStore", value: "/org/p", updatedAt: expect.any(String) },
      PORT: { type: "plainText", value: "3000", updatedAt: expect.any(String) },
    });
    expect(list.text).not.toContain("very-secret-pw");
  });

  it("every write moves updatedAt, even within the same millisecond", async () => {
    const path = `/v1/services/${svc()}/env-variables`;
    await fc("POST", path, { plainText: { A: "1" } });
    const t1 = (await fc("GET", path)).body.envVariables.A.updatedAt;
    await fc("POST", path, { plainText: { A: "1" } });
    const t2 = (await fc("GET", path)).body.envVariables.A.updatedAt;
    expect(Date.parse(t2)).toBeGreaterThan(Date.parse(t1));
  });

  it("DELETE removes one variable (204), 404 when absent", async () => {
    await fc("POST", `/v1/services/${svc()}/env-variables`, { plainText: { A: "1", B: "2" } });
    expect((await fc("DELETE", `/v1/services/${svc()}/env-variables/A`)).status).toBe(204);
    expect((await fc("DELETE", `/v1/services/${svc()}/env-variables/A`)).status).toBe(404);
    expect(Object.keys((await envOf()).variables)).toEqual(["B"]);
  });

  it("a variable named like the status route is still a variable", async () => {
    await fc("POST", `/v1/services/${svc()}/env-variables`, { plainText: { status: "ok" } });
    expect((await fc("DELETE", `/v1/services/${svc()}/env-variables/status`)).status).toBe(204);
  });
});

describe("Flightcontrol: admin and counters", () => {
  it("tampers and deletes out of band; the API sees it", async () => {
    await fc("POST", `/v1/services/${svc()}/env-variables`, { plainText: { A: "1" } });
    const before = (await fc("GET", `/v1/services/${svc()}/env-variables`)).body.envVariables.A;
    const t = await admin(emu, "POST", `/_admin/flightcontrol/services/${svc()}/env/A`, { value: "2" });
    expect(t.status).toBe(200);
    const after = (await fc("GET", `/v1/services/${svc()}/env-variables`)).body.envVariables.A;
    expect(after.value).toBe("2");
    expect(after.updatedAt).not.toBe(before.updatedAt);
    await admin(emu, "POST", `/_admin/flightcontrol/services/${svc()}/env/S`, {
      group: "secretsManager",
      value: "oob",
    });
    expect((await envOf()).variables.S).toMatchObject({ group: "secretsManager", value: "oob" });
    expect((await admin(emu, "DELETE", `/_admin/flightcontrol/services/${svc()}/env/A`)).status).toBe(200);
    expect((await admin(emu, "DELETE", `/_admin/flightcontrol/services/${svc()}/env/A`)).status).toBe(404);
    expect(
      (
        await admin(emu, "POST", `/_admin/flightcontrol/services/${svc()}/env/B`, {
          group: "nope",
          value: "x",
        })
      ).status,
    ).toBe(400);
  });

  it("counts Flightcontrol requests by route template, not admin calls", async () => {
    await admin(emu, "DELETE", "/_admin/requests");
    await fc("POST", `/v1/services/${svc()}/env-variables`, { plainText: { A: "1" } });
    await fc("GET", `/v1/services/${svc()}/env-variables`);
    await envOf();
    const counts = (await admin(emu, "GET", "/_admin/requests")).body;
    expect(counts.routes).toEqual({
      "POST /flightcontrol/v1/services/:serviceId/env-variables": 1,
      "GET /flightcontrol/v1/services/:serviceId/env-variables": 1,
    });
    expect(counts.total).toBe(2);
  });

  it("reset drops variables and runs but keeps the seed", async () => {
    await fc("POST", `/v1/services/${svc()}/env-variables`, { plainText: { A: "1" } });
    const seed = (await admin(emu, "GET", "/_admin/seed")).body.flightcontrol;
    await admin(emu, "POST", "/_admin/reset");
    expect((await admin(emu, "GET", "/_admin/seed")).body.flightcontrol).toEqual(seed);
    expect((await envOf()).variables).toEqual({});
  });
});

describe("Flightcontrol: persistence", () => {
  it("keeps variables and the seed across a restart, and finishes runs that were pending", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fc-emu-"));
    const statePath = join(dir, "state.json");
    try {
      const first = (await startQuiet({ statePath })).emu;
      const id = first.flightcontrol.serviceId;
      await call(first, "POST", `/_admin/flightcontrol/services/${id}/async-delay`, { json: { ms: 300 } });
      const res = await call(first, "POST", `/flightcontrol/v1/services/${id}/env-variables`, {
        headers: { authorization: `Bearer: ${first.flightcontrol.apiKey}` },
        json: { plainText: { PORT: "3000" }, parameterStore: { DB: "pw-persisted" } },
      });
      expect(res.status).toBe(202);
      await first.close();

      const second = (await startQuiet({ statePath })).emu;
      try {
        expect(second.flightcontrol).toEqual({
          ...first.flightcontrol,
          baseUrl: `${second.baseUrl}/flightcontrol`,
        });
        expect(second.dypai.token).toBe(first.dypai.token);
        const env = await eventually(
          async () => (await call(second, "GET", `/_admin/flightcontrol/services/${id}/env`)).body,
          (b: Json) => b.pending.length === 0,
        );
        expect(env.variables).toMatchObject({
          PORT: { group: "plainText", value: "3000" },
          DB: { group: "parameterStore", value: "pw-persisted" },
        });
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("loads a state file written before the companion stores existed, giving it their seeds", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fc-emu-"));
    const statePath = join(dir, "state.json");
    try {
      const first = (await startQuiet({ statePath })).emu;
      await first.close();
      const old = JSON.parse(readFileSync(statePath, "utf8"));
      delete old.companions;
      delete old.flightcontrol;
      delete old.dypai;
      writeFileSync(statePath, JSON.stringify(old));
      const second = (await startQuiet({ statePath })).emu;
      try {
        expect(second.dynamiq.userPat).toBe(first.dynamiq.userPat);
        const res = await call(
          second,
          "POST",
          `/flightcontrol/v1/services/${second.flightcontrol.serviceId}/env-variables`,
          {
            headers: { authorization: `Bearer: ${second.flightcontrol.apiKey}` },
            json: { plainText: { A: "1" } },
          },
        );
        expect(res.status).toBe(200);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

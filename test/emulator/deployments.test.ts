import { describe, expect, it } from "vitest";

import type { Emulator } from "../../emulator/server";
import { admin, asUser, call, eventually, type Json, type Res, useSeededEmulator } from "./helpers";

let emu: Emulator;
let logs: string[];

useSeededEmulator((started) => ({ emu, logs } = started));

const deploy = (body: unknown, serviceId = emu.dynamiq.serviceId) =>
  asUser(emu, "POST", `/v1/services/${serviceId}/deploy`, body);
const getDeployment = (id: string) =>
  asUser(emu, "GET", `/v1/services/${emu.dynamiq.serviceId}/deployments/${id}`);
const settled = (id: string) =>
  eventually(
    () => getDeployment(id),
    (r: Res) => r.body.data.status !== "in_progress",
  );

describe("deploy", () => {
  it("creates an in_progress deployment that succeeds; secrets stored apart; reserved vars win", async () => {
    const res = await deploy({
      image: "registry.example.com/qa-service:1.0.0",
      resources: { requests: { cpu: "100m", memory: "256Mi" } },
      env: [
        { name: "LOG_LEVEL", value: "info" },
        { name: "OPENAI_API_KEY", value: "sk-deploy-secret", secret: true },
        { name: "DYNAMIQ_SERVICE_ID", value: "spoofed" },
        { name: "DYNAMIQ_SERVICE_TOKEN", value: "spoofed-token", secret: true },
      ],
    });
    expect(res.status).toBe(200);
    const d = res.body.data;
    expect(d).toMatchObject({
      service_id: emu.dynamiq.serviceId,
      image: "registry.example.com/qa-service:1.0.0",
      resources: { requests: { cpu: "100m", memory: "256Mi" } },
      status: "in_progress",
      finished_at: null,
      env: [
        { name: "LOG_LEVEL", value: "info" },
        { name: "OPENAI_API_KEY", secret: true },
      ],
      ignored_env: ["DYNAMIQ_SERVICE_ID", "DYNAMIQ_SERVICE_TOKEN"],
    });
    expect(res.text).not.toContain("sk-deploy-secret");
    expect(res.text).not.toContain("spoofed");

    const done = await settled(d.id);
    expect(done.body.data.status).toBe("succeeded");
    expect(typeof done.body.data.finished_at).toBe("string");
    expect(done.text).not.toContain("sk-deploy-secret");

    const runtime = await admin(emu, "GET", `/_admin/services/${emu.dynamiq.serviceId}/runtime`);
    expect(runtime.body.deployment_id).toBe(d.id);
    expect(runtime.body.plain_env).toEqual({ LOG_LEVEL: "info" });
    expect(runtime.body.secret_env.OPENAI_API_KEY).toBe("sk-deploy-secret");
    expect(runtime.body.env.DYNAMIQ_SERVICE_ID).toBe(emu.dynamiq.serviceId);
    expect(runtime.body.env.DYNAMIQ_SERVICE_TOKEN).toMatch(/^dst_/);
    expect(runtime.body.env.DYNAMIQ_SERVICE_TOKEN).not.toBe("spoofed-token");
    expect(logs.join("\n")).not.toContain("sk-deploy-secret");

    const svc = await asUser(emu, "GET", `/v1/services/${emu.dynamiq.serviceId}`);
    expect(svc.body.data).toMatchObject({
      id: emu.dynamiq.serviceId,
      project_id: emu.dynamiq.projectId,
      org_id: emu.dynamiq.orgId,
      latest_deployment_id: d.id,
      active_deployment_id: d.id,
    });
  });

  it("lists deployments newest first, paginated", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await deploy({ image: `img:${i}` })).body.data.id);
    const list = await asUser(emu, "GET", `/v1/services/${emu.dynamiq.serviceId}/deployments`);
    expect(list.status).toBe(200);
    expect(list.body.data.map((d: Json) => d.id)).toEqual(ids.reverse());
    expect(list.body.pagination).toEqual({ page: 1, page_size: 25, page_count: 1, total_count: 3 });
    const page = await asUser(
      emu,
      "GET",
      `/v1/services/${emu.dynamiq.serviceId}/deployments?page_size=2&page=2`,
    );
    expect(page.body.data.map((d: Json) => d.image)).toEqual(["img:0"]);
  });

  it("an armed failure fails the next deploy only; the service keeps running the last success", async () => {
    const good = (await deploy({ image: "img:good", env: [{ name: "V", value: "1" }] })).body.data;
    await settled(good.id);
    const armed = await admin(emu, "POST", `/_admin/services/${emu.dynamiq.serviceId}/fail-next-deploy`, {
      message: "image pull failed",
    });
    expect(armed.status).toBe(200);
    const bad = (await deploy({ image: "img:bad", env: [{ name: "V", value: "2" }] })).body.data;
    const failed = await settled(bad.id);
    expect(failed.body.data).toMatchObject({ status: "failed", message: "image pull failed" });

    const svc = await asUser(emu, "GET", `/v1/services/${emu.dynamiq.serviceId}`);
    expect(svc.body.data.latest_deployment_id).toBe(bad.id);
    expect(svc.body.data.active_deployment_id).toBe(good.id);
    const runtime = await admin(emu, "GET", `/_admin/services/${emu.dynamiq.serviceId}/runtime`);
    expect(runtime.body.env.V).toBe("1");

    const next = (await deploy({ image: "img:next" })).body.data;
    expect((await settled(next.id)).body.data.status).toBe("succeeded");
  });

  it("deploy-delay keeps a deployment in_progress until it elapses", async () => {
    await admin(emu, "POST", `/_admin/services/${emu.dynamiq.serviceId}/deploy-delay`, { ms: 300 });
    const d = (await deploy({ image: "img:slow" })).body.data;
    await new Promise((r) => setTimeout(r, 100));
    expect((await getDeployment(d.id)).body.data.status).toBe("in_progress");
    const runtime = await admin(emu, "GET", `/_admin/services/${emu.dynamiq.serviceId}/runtime`);
    expect(runtime.body.deployment_id).toBeNull();
    expect((await settled(d.id)).body.data.status).toBe("succeeded");
  });

  it("validates the body and never echoes env values", async () => {
    const cases: Array<[unknown, string]> = [
      [{}, "image"],
      [{ image: "" }, "image"],
      [{ image: "x", env: "A=1" }, "env"],
      [{ image: "x", env: [{ name: "A" }] }, "env[0].value"],
      [{ image: "x", env: [{ name: "A", value: 5 }] }, "env[0].value"],
      [{ image: "x", env: [{ value: "leak-me" }] }, "env[0].name"],
      [{ image: "x", env: [{ name: 3, value: "leak-me" }] }, "env[0].name"],
      [{ image: "x", env: [{ name: "1BAD", value: "leak-me" }] }, "env[0].name"],
      [{ image: "x", env: [{ name: "A", value: "leak-me", secret: "yes" }] }, "env[0].secret"],
      [{ image: "x", env: ["A=1"] }, "env[0]"],
      [
        {
          image: "x",
          env: [
            { name: "A", value: "1" },
            { name: "A", value: "leak-me" },
          ],
        },
        "env[1].name",
      ],
      [{ image: "x", resources: [1] }, "resources"],
    ];
    for (const [body, field] of cases) {
      const res = await deploy(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe("validation_error");
      expect(res.body.error.details.field).toBe(field);
      expect(res.text).not.toContain("leak-me");
    }
    const list = await asUser(emu, "GET", `/v1/services/${emu.dynamiq.serviceId}/deployments`);
    expect(list.body.data).toEqual([]);
  });

  it("403 for a service of another org, 404 for unknown services and deployments", async () => {
    const foreign = await admin(emu, "POST", "/_admin/services", { project_id: emu.dynamiq.otherProjectId });
    expect((await deploy({ image: "x" }, foreign.body.id)).status).toBe(403);
    expect((await asUser(emu, "GET", `/v1/services/${foreign.body.id}`)).status).toBe(403);
    expect((await asUser(emu, "GET", `/v1/services/${foreign.body.id}/deployments`)).status).toBe(403);
    const unknown = "00000000-0000-4000-8000-000000000000";
    expect((await deploy({ image: "x" }, unknown)).status).toBe(404);
    expect((await asUser(emu, "GET", `/v1/services/${unknown}`)).status).toBe(404);
    expect((await getDeployment(unknown)).status).toBe(404);
    expect(
      (await call(emu, "POST", `/v1/services/${emu.dynamiq.serviceId}/deploy`, { json: {} })).status,
    ).toBe(401);
  });

  it("a multipart (source upload) deploy is refused with 415", async () => {
    const res = await call(emu, "POST", `/v1/services/${emu.dynamiq.serviceId}/deploy`, {
      token: emu.dynamiq.userPat,
      raw: '--b\r\nContent-Disposition: form-data; name="data"\r\n\r\n{}\r\n--b--\r\n',
      headers: { "content-type": "multipart/form-data; boundary=b" },
    });
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe("unsupported_media_type");
  });
});

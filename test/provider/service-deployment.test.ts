import { describe, expect, it } from "vitest";
import {
  serviceDeployment,
  type ServiceDeploymentOutputs,
} from "../../provider/resources/service-deployment";
import { UNKNOWN } from "../../provider/resource";

const serviceId = "66666666-7777-4888-9999-aaaaaaaaaaaa";
const base = { serviceId, image: "registry.example.com/app:1" };
const check = (news: Record<string, unknown>) => serviceDeployment.check({}, { ...base, ...news }).failures;

describe("ServiceDeployment check", () => {
  it("accepts plain and secret variables", () => {
    expect(
      check({
        env: { LOG_LEVEL: "info" },
        secretEnv: { API_KEY: "k" },
        resources: { limits: { cpu: "200m", memory: "512Mi" } },
      }),
    ).toEqual([]);
  });

  it("rejects reserved, invalid and duplicate names and non-string values, naming each", () => {
    expect(check({ env: { DYNAMIQ_SERVICE_ID: "x" } })[0]).toEqual({
      property: "env.DYNAMIQ_SERVICE_ID",
      reason: "DYNAMIQ_SERVICE_ID is reserved: the platform injects its own value and ignores yours",
    });
    expect(check({ secretEnv: { DYNAMIQ_SERVICE_TOKEN: "x" } })[0].property).toBe(
      "secretEnv.DYNAMIQ_SERVICE_TOKEN",
    );
    expect(check({ env: { "1BAD": "x", "WITH-DASH": "y", "": "z" } }).map((f) => f.property)).toEqual([
      "env.1BAD",
      "env.WITH-DASH",
      "env.",
    ]);
    expect(check({ env: { KEY: "a" }, secretEnv: { KEY: "b" } })).toEqual([
      { property: "secretEnv.KEY", reason: "is also declared in env; a variable is either plain or secret" },
    ]);
    expect(check({ env: { PORT: 8080, ON: true } })).toEqual([
      { property: "env.PORT", reason: "must be a string, got number" },
      { property: "env.ON", reason: "must be a string, got boolean" },
    ]);
    expect(check({ env: { BIG: "x".repeat(40_000) } })[0].reason).toMatch(/at most/);
  });

  it("checks the service id, image and resources", () => {
    expect(
      check({ serviceId: "svc", image: "", resources: { limits: { cpu: "lots" } } }).map((f) => f.property),
    ).toEqual(["serviceId", "image", "resources.limits.cpu"]);
    expect(check({ serviceId: UNKNOWN, image: UNKNOWN, env: { A: UNKNOWN }, secretEnv: UNKNOWN })).toEqual(
      [],
    );
  });
});

describe("ServiceDeployment diff", () => {
  const olds: ServiceDeploymentOutputs = {
    ...base,
    env: { A: "1" },
    status: "succeeded",
    activeDeploymentId: "dep-1",
  };
  it("deploys nothing when nothing changed", () => {
    expect(serviceDeployment.diff("dep-1", olds, { ...base, env: { A: "1" } })).toEqual({
      changes: false,
      replaces: [],
      diffs: [],
    });
  });
  it("makes every env, image or resources change a new deployment", () => {
    expect(serviceDeployment.diff("dep-1", olds, { ...base, env: { A: "2" } }).replaces).toEqual(["env"]);
    expect(
      serviceDeployment.diff("dep-1", olds, { ...base, env: { A: "1" }, secretEnv: { K: "v" } }).replaces,
    ).toEqual(["secretEnv"]);
    expect(
      serviceDeployment.diff("dep-1", olds, { ...base, image: "x:2", env: { A: "1" } }).replaces,
    ).toEqual(["image"]);
  });
  it("redeploys when someone deployed by hand since", () => {
    expect(
      serviceDeployment.diff("dep-1", { ...olds, activeDeploymentId: "dep-9" }, { ...base, env: { A: "1" } })
        .replaces,
    ).toEqual(["activeDeploymentId"]);
  });
  it("changes the wait deadline in place", () => {
    expect(serviceDeployment.diff("dep-1", olds, { ...base, env: { A: "1" }, timeoutSeconds: 60 })).toEqual({
      changes: true,
      replaces: [],
      diffs: ["timeoutSeconds"],
    });
  });
});

// What the SDK classes register with the engine: their inputs and outputs, and `adoptId` only when it is set
// (Pulumi's program runtime makes an Output of every registered property; an unset `adoptId` would cost every
// resource that work for nothing). Loads the built CommonJS: Pulumi serialises `__provider` from it, which it
// cannot do from sources loaded through vite.
import { createRequire } from "node:module";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support";

const load = createRequire(path.join(ROOT, "package.json"));
type Registered = { type: string; name: string; inputs: Record<string, unknown> };
const registered: Registered[] = [];
let sdk: Record<string, new (name: string, args: Record<string, unknown>) => unknown>;
let pulumi: typeof import("@pulumi/pulumi");

beforeAll(async () => {
  pulumi = load("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: () => ({}),
    },
    "project",
    "stack",
    false,
  );
  sdk = load("pulumi-dynamiq");
});

async function inputsOf(name: string): Promise<Record<string, unknown>> {
  await new Promise((r) => setTimeout(r, 50));
  const r = registered.find((x) => x.name === name);
  if (!r) throw new Error(`${name} was not registered`);
  return r.inputs;
}

describe("registered properties", () => {
  it("leave out an adoptId that is not set, and keep one that is", async () => {
    const projectId = "p-1";
    const config = { api_key: "k" };
    const type = "dynamiq.connections.OpenAI";
    const plain = new sdk.Connection("plain", { projectId, type, config }) as Record<string, unknown>;
    const adopted = new sdk.Connection("adopted", { projectId, type, config, adoptId: "c-1" }) as Record<
      string,
      unknown
    >;
    const key = new sdk.AccessKey("key", { orgId: "o-1", name: "k" }) as Record<string, unknown>;
    const svc = new sdk.ServiceDeployment("svc", {
      serviceId: "s-1",
      image: "registry.example.com/a:1",
      adoptId: "d-1",
    }) as Record<string, unknown>;
    // A registered property is an Output on the resource; an unset adoptId is not there at all.
    expect(plain).not.toHaveProperty("adoptId");
    expect(key).not.toHaveProperty("adoptId");
    expect(pulumi.Output.isInstance(adopted.adoptId)).toBe(true);
    expect(pulumi.Output.isInstance(svc.adoptId)).toBe(true);
    // Every declared output is still there, set or not.
    for (const output of ["status", "authorizationUrl", "createdAt", "checkSecretDrift", "config"])
      expect(pulumi.Output.isInstance(plain[output]), output).toBe(true);
    expect(await inputsOf("adopted")).toMatchObject({ adoptId: "c-1", name: "adopted" });
    expect(await inputsOf("svc")).toMatchObject({ adoptId: "d-1", serviceId: "s-1" });
  });
});

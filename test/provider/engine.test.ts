// The provider host's check that its engine is still there (provider/engine.ts): a host whose `pulumi up` was
// killed must not record a create as done, and must not live on.
import net from "node:net";
import { describe, expect, it } from "vitest";
import { engineAddress, engineGone } from "../../provider/engine";

const HOST_SCRIPT = "/app/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js";

async function listening(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return { port, close: () => new Promise((r) => server.close(() => r())) };
}

describe("the engine of a provider host", () => {
  it("is the host's first argument, and only inside Pulumi's dynamic-provider host", () => {
    expect(engineAddress(["node", HOST_SCRIPT, "127.0.0.1:40123"])).toEqual({
      host: "127.0.0.1",
      port: 40123,
    });
    expect(engineAddress(["node", HOST_SCRIPT.replace("/index.js", ""), "[::1]:7"])).toEqual({
      host: "[::1]",
      port: 7,
    });
    expect(
      engineAddress(["node", "/work/node_modules/vitest/vitest.mjs", "127.0.0.1:40123"]),
    ).toBeUndefined();
    expect(engineAddress(["node", HOST_SCRIPT])).toBeUndefined();
  });

  it("is there while its address accepts connections, and gone once it refuses them", async () => {
    const engine = await listening();
    const address = { host: "127.0.0.1", port: engine.port };
    expect(await engineGone(address)).toBe(false);
    await engine.close();
    expect(await engineGone(address)).toBe(true);
  });

  it("is never taken for gone outside a provider host", async () => {
    expect(await engineGone(undefined)).toBe(false);
  });
});

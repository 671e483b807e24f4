// Transport, for all three platforms: plain http:// is refused for anything but loopback unless the user opts in
// explicitly, both through stack config and the environment; TLS checks are never disabled anywhere.
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigurationError } from "../../provider/errors";
import {
  configure,
  dynamiqSettings,
  dypaiSettings,
  flightcontrolSettings,
  resetConfiguration,
} from "../../provider/settings";

afterEach(() => resetConfiguration());

const PLATFORMS = [
  {
    name: "dynamiq",
    settings: dynamiqSettings,
    env: (url: string, insecure?: boolean) => ({
      DYNAMIQ_API_TOKEN: "dyn_pat_" + "a".repeat(64),
      DYNAMIQ_API_BASE_URL: url,
      ...(insecure ? { DYNAMIQ_ALLOW_INSECURE_HTTP: "true" } : {}),
    }),
  },
  {
    name: "flightcontrol",
    settings: flightcontrolSettings,
    env: (url: string, insecure?: boolean) => ({
      FLIGHTCONTROL_API_KEY: "fc-key-123456",
      FLIGHTCONTROL_BASE_URL: url,
      ...(insecure ? { FLIGHTCONTROL_ALLOW_INSECURE_HTTP: "true" } : {}),
    }),
  },
  {
    name: "dypai",
    settings: dypaiSettings,
    env: (url: string, insecure?: boolean) => ({
      DYPAI_TOKEN: "dypai-token-123456",
      DYPAI_BASE_URL: url,
      ...(insecure ? { DYPAI_ALLOW_INSECURE_HTTP: "true" } : {}),
    }),
  },
];

describe.each(PLATFORMS)("transport: $name", (p) => {
  it("refuses plain http to a remote host, naming the opt-in", () => {
    for (const url of ["http://api.example.com", "http://10.0.0.5:8080", "http://127.0.0.1.example.com"]) {
      let err: unknown;
      try {
        p.settings(p.env(url));
      } catch (e) {
        err = e;
      }
      expect(err, url).toBeInstanceOf(ConfigurationError);
      expect((err as Error).message).toContain(`${p.name}:allowInsecureHttp=true`);
    }
  });

  it("accepts https, loopback http, and remote http only with the explicit opt-in (env or stack config)", () => {
    expect(p.settings(p.env("https://api.example.com")).baseUrl).toBe("https://api.example.com");
    for (const url of ["http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9"])
      expect(p.settings(p.env(url)).baseUrl, url).toBe(url);
    expect(p.settings(p.env("http://api.example.com", true)).baseUrl).toBe("http://api.example.com");
    configure({ get: (k) => (k === `${p.name}:allowInsecureHttp` ? "true" : undefined) });
    expect(p.settings(p.env("http://api.example.com")).baseUrl).toBe("http://api.example.com");
    configure({ get: (k) => (k === `${p.name}:allowInsecureHttp` ? "yes" : undefined) });
    expect(() => p.settings(p.env("http://api.example.com"))).toThrow(ConfigurationError);
  });

  it("refuses other schemes", () => {
    expect(() => p.settings(p.env("ftp://api.example.com"))).toThrow(/https:\/\//);
  });
});

describe("TLS checks", () => {
  it("are never disabled in the provider or the SDK", () => {
    const root = path.resolve(__dirname, "..", "..");
    const files = ["provider", "sdk"].flatMap((d) =>
      fs
        .readdirSync(path.join(root, d), { recursive: true, encoding: "utf8" })
        .map((f) => path.join(root, d, f)),
    );
    const offenders = files
      .filter((f) => f.endsWith(".ts") && fs.statSync(f).isFile())
      .filter((f) =>
        /rejectUnauthorized|NODE_TLS_REJECT_UNAUTHORIZED|checkServerIdentity/.test(
          fs.readFileSync(f, "utf8"),
        ),
      );
    expect(offenders).toEqual([]);
  });
});

import { afterEach, describe, expect, it } from "vitest";
import {
  configure,
  dynamiqSettings,
  requirePersonalAccessToken,
  resetConfiguration,
  checkBaseUrl,
} from "../../provider/settings";
import { dynamiqClient } from "../../provider/clients/dynamiq";
import { ConfigurationError } from "../../provider/errors";

const PAT = "dyn_pat_" + "a".repeat(64);
const KEY = "dynamiq_acc_" + "b".repeat(64);
const config = (values: Record<string, string>) => ({ get: (k: string) => values[k] });

afterEach(() => resetConfiguration());

describe("provider settings", () => {
  it("reads stack config first, then the official CLI's environment variables, at call time", () => {
    const env = { DYNAMIQ_API_TOKEN: "dyn_pat_env", DYNAMIQ_API_BASE_URL: "https://env.example" };
    expect(dynamiqSettings(env)).toMatchObject({ credential: "dyn_pat_env", baseUrl: "https://env.example" });
    expect(dynamiqSettings({ DYNAMIQ_API_KEY: "dyn_pat_k", DYNAMIQ_API_HOST: "host.example" })).toMatchObject(
      {
        credential: "dyn_pat_k",
        baseUrl: "https://host.example",
      },
    );
    configure(config({ "dynamiq:token": PAT, "dynamiq:baseUrl": "http://127.0.0.1:9" }));
    expect(dynamiqSettings(env)).toMatchObject({ credential: PAT, baseUrl: "http://127.0.0.1:9" });
    configure(config({ "dynamiq:token": "dyn_pat_new" }));
    expect(dynamiqSettings(env).credential).toBe("dyn_pat_new");
  });

  it("defaults to the public API and fails clearly without a credential", () => {
    configure(config({ "dynamiq:token": PAT }));
    expect(dynamiqSettings({}).baseUrl).toBe("https://api.getdynamiq.ai");
    resetConfiguration();
    expect(() => dynamiqSettings({})).toThrow(/dynamiq:token.*DYNAMIQ_API_TOKEN/);
  });

  it("refuses an Access Key for management calls before any request, saying a PAT is needed", () => {
    configure(config({ "dynamiq:token": KEY }));
    expect(() => requirePersonalAccessToken(dynamiqSettings({}))).toThrow(ConfigurationError);
    let message = "";
    try {
      dynamiqClient();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/Personal Access Token/);
    expect(message).not.toContain(KEY);
  });

  it("refuses plain http to anything but loopback unless opted in", () => {
    expect(() => checkBaseUrl("dynamiq", "dynamiq:baseUrl", "http://api.example.com", false)).toThrow(
      /allowInsecureHttp/,
    );
    expect(checkBaseUrl("dynamiq", "dynamiq:baseUrl", "http://api.example.com", true)).toBe(
      "http://api.example.com",
    );
    expect(checkBaseUrl("dynamiq", "dynamiq:baseUrl", "http://localhost:8080/", false)).toBe(
      "http://localhost:8080",
    );
    expect(() => checkBaseUrl("dynamiq", "dynamiq:baseUrl", "ftp://x", false)).toThrow(/https/);
  });
});

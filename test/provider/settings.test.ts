import { afterEach, describe, expect, it } from "vitest";
import {
  checkProviderInstance,
  configure,
  dynamiqSettings,
  dypaiSettings,
  flightcontrolSettings,
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

  describe("an explicit provider instance", () => {
    const instance = (platform: string, values: Record<string, unknown>) =>
      configure({
        get: (k: string) =>
          ({ "pulumi-dynamiq:platform": platform, "pulumi-dynamiq:name": "prod", ...values })[k] as string,
      });
    const env = {
      DYNAMIQ_API_TOKEN: "dyn_pat_env",
      DYNAMIQ_API_BASE_URL: "https://env.example",
      FLIGHTCONTROL_API_KEY: "fc_env",
      DYPAI_TOKEN: "dy_env",
      DYPAI_BASE_URL: "https://dypai.env.example",
    };

    it("uses its own arguments only: never the environment, the public API by default", () => {
      instance("dynamiq", { "dynamiq:token": PAT });
      expect(dynamiqSettings(env)).toEqual({
        platform: "dynamiq",
        credential: PAT,
        baseUrl: "https://api.getdynamiq.ai",
        credentialSetting: 'the token of dynamiq.Provider "prod"',
      });
      instance("dynamiq", {
        "dynamiq:token": PAT,
        "dynamiq:baseUrl": "http://api.example.com",
        "dynamiq:allowInsecureHttp": true,
      });
      expect(dynamiqSettings(env).baseUrl).toBe("http://api.example.com");
    });

    it("without its credential or base URL, names the instance and the argument, even when the environment has them", () => {
      instance("dynamiq", {});
      expect(() => dynamiqSettings(env)).toThrow(
        'dynamiq.Provider "prod" has no token; set `token` in its arguments',
      );
      instance("flightcontrol", {});
      expect(() => flightcontrolSettings(env)).toThrow('flightcontrol.Provider "prod" has no apiKey');
      instance("dypai", { "dypai:token": "dy" });
      expect(() => dypaiSettings(env)).toThrow('dypai.Provider "prod" has no baseUrl');
      instance("dynamiq", { "dynamiq:token": PAT, "dynamiq:baseUrl": "http://api.example.com" });
      expect(() => dynamiqSettings(env)).toThrow(
        'set `allowInsecureHttp: true` in the arguments of dynamiq.Provider "prod"',
      );
    });

    it("refuses a resource of another platform, naming its kind and the instance", () => {
      instance("flightcontrol", { "flightcontrol:apiKey": "fc" });
      expect(() => checkProviderInstance("dynamiq", "Connection")).toThrow(
        /this Connection was given flightcontrol\.Provider "prod", a provider of another platform; give it a dynamiq\.Provider/,
      );
      expect(() => dynamiqSettings(env)).toThrow(ConfigurationError);
      expect(() => checkProviderInstance("flightcontrol", "ServiceEnvVariables")).not.toThrow();
      // The default provider is not checked here: its settings are read when a call needs them.
      resetConfiguration();
      expect(() => checkProviderInstance("dynamiq", "Connection")).not.toThrow();
    });

    it("never puts the credential in its messages", () => {
      instance("dynamiq", { "dynamiq:token": KEY });
      let message = "";
      try {
        dynamiqClient();
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/the token of dynamiq\.Provider "prod"\) is an Access Key/);
      expect(message).not.toContain(KEY);
    });
  });
});

// Secrets: secret inputs and additionalSecretOutputs are encrypted in the state file and flow back to the
// program as secrets; secret config reaches the provider's configure() and is stored encrypted.

import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";

import { SECRET_SIG, SIG_KEY } from "../../harness/props";
import { decryptedConfig, decryptedResources, readState } from "../../harness/state";
import { Workspace, fixture } from "./helpers";

const ws = new Workspace("secrets");
const programDir = fixture("secrets");
const passphrase = "correct horse battery staple";
const secretInput = `hunter2-${crypto.randomBytes(6).toString("hex")}`;
const token = `tok-${crypto.randomBytes(6).toString("hex")}`;
const sha256 = (s: string) => crypto.createHash("sha256").update(s).digest("hex");

afterAll(() => ws.cleanup());

describe("engine harness: secrets", () => {
  let generated = "";

  it("secret inputs, additionalSecretOutputs and secret config never reach the state file in plaintext", async () => {
    const r = await ws.run({ verb: "up", programDir, passphrase, secrets: { secretInput, token } });
    expect(r.exitCode, r.log).toBe(0);

    // The program saw the outputs as secrets (the monitor returned them wrapped).
    expect(r.outputs).toMatchObject({
      plainOut: "visible",
      secretOut: secretInput,
      generatedIsSecret: true,
      secretValueIsSecret: true,
      valueIsSecret: false,
    });
    generated = String(r.outputs.generated);
    expect(generated).toMatch(/^gen-/);
    expect(r.secretOutputs.sort()).toEqual(["generated", "secretOut"]);
    expect(r.displayOutputs).toMatchObject({
      secretOut: "[secret]",
      generated: "[secret]",
      plainOut: "visible",
    });

    // Byte scan: no plaintext secret anywhere in the state file, nor in what was printed.
    const bytes = fs.readFileSync(ws.statePath);
    for (const plaintext of [secretInput, token, generated]) {
      expect(bytes.includes(Buffer.from(plaintext))).toBe(false);
      expect(r.log).not.toContain(plaintext);
    }

    // Stored inside Pulumi's secret envelope.
    const state = readState(ws.statePath);
    const s = state.deployment.resources.find((x) => x.urn.endsWith("::s"))!;
    for (const v of [s.inputs?.secretValue, s.outputs?.secretValue, s.outputs?.generated]) {
      expect(v).toMatchObject({ [SIG_KEY]: SECRET_SIG, ciphertext: expect.stringMatching(/^v1:/) });
    }
    expect(s.outputs?.value).toBe("visible");
    expect(s.additionalSecretOutputs).toEqual(["generated"]);
    expect(state.config?.["fixture:token"]).toMatchObject({ secure: expect.stringMatching(/^v1:/) });
    const provider = state.deployment.resources.find((x) => x.urn.endsWith("::default"))!;
    expect(provider.inputs?.["fixture:token"]).toMatchObject({ [SIG_KEY]: SECRET_SIG });

    // Decrypted with the passphrase they are all there.
    const s2 = decryptedResources(ws.statePath, passphrase).find((x) => x.urn.endsWith("::s"))!;
    expect(s2.inputs.secretValue).toBe(secretInput);
    expect(s2.outputs.generated).toBe(generated);
    expect(decryptedConfig(ws.statePath, passphrase)).toMatchObject({
      "fixture:token": token,
      "fixture:secretInput": secretInput,
    });

    // Configure saw the whole stack config in plaintext (the fixture records only a hash of the token).
    const configures = ws.journal().filter((e) => e.method === "configure");
    expect(configures.length).toBeGreaterThan(0);
    expect(configures.every((e) => e.tokenSha256 === sha256(token))).toBe(true);
    const journalText = fs.readFileSync(path.join(ws.dir, "journal.jsonl"), "utf8");
    expect(journalText).not.toContain(token);
    expect(journalText).not.toContain(secretInput);
  });

  it("a later run reuses the persisted encrypted config; nothing changes", async () => {
    const mark = ws.mark();
    const r = await ws.run({ verb: "up", programDir, passphrase });
    expect(r.exitCode, r.log).toBe(0);
    expect(r.changes).toMatchObject({ create: 0, update: 0, replace: 0, delete: 0 });
    expect(r.outputs.generated).toBe(generated);
    expect(ws.since(mark).find((e) => e.method === "configure")?.tokenSha256).toBe(sha256(token));
    expect(fs.readFileSync(ws.statePath).includes(Buffer.from(secretInput))).toBe(false);
  });

  it("a wrong passphrase is refused before anything runs", async () => {
    const bytes = fs.readFileSync(ws.statePath);
    const r = await ws.run({ verb: "up", programDir, passphrase: "wrong" });
    expect(r.exitCode).toBe(1);
    expect(r.errors.join("\n")).toMatch(/incorrect passphrase/);
    expect(fs.readFileSync(ws.statePath).equals(bytes)).toBe(true);
  });
});

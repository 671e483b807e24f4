// What the demo reads from the emulator, outside Pulumi: its admin surface (request counts, out-of-band edits,
// ageing, what each consumer holds), the deployed endpoint that accepts or refuses a key, a watcher that keeps
// checking the consumers' keys during a rotation, and the secret audit.
import fs from "node:fs";
import path from "node:path";
import type { Emulator } from "../emulator/server";

/** The consumers of a key and the key each holds right now (undefined: none). */
export type Held = Record<string, string | undefined>;

export class Platform {
  constructor(readonly emu: Emulator) {}

  /** GET an admin route, or POST to it when there is a body; a non-2xx answer throws. */
  async admin<T = Record<string, unknown>>(route: string, body?: unknown): Promise<T> {
    const res = await fetch(
      `${this.emu.baseUrl}/_admin/${route}`,
      body === undefined
        ? {}
        : { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } },
    );
    if (!res.ok) throw new Error(`emulator admin ${route}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /** API calls so far by route: the platforms' APIs only, not the deployed endpoint the demo itself calls. */
  async calls(): Promise<Record<string, number>> {
    const { routes } = await this.admin<{ routes: Record<string, number> }>("requests");
    return Object.fromEntries(Object.entries(routes).filter(([route]) => !route.includes("/apps/")));
  }

  /** The value of a variable the Dynamiq service runs with. */
  async serviceEnv(serviceId: string, name: string): Promise<string | undefined> {
    return (await this.admin<{ env?: Record<string, string> }>(`services/${serviceId}/runtime`)).env?.[name];
  }

  /** Which key each consumer of examples/multi-platform holds. */
  async heldByConsumers(ids: {
    dynamiqServiceId: string;
    flightcontrolServiceId: string;
    dypaiEngineId: string;
  }): Promise<Held> {
    const name = "DYNAMIQ_ACCESS_KEY";
    const [dynamiq, fc, dy] = await Promise.all([
      this.serviceEnv(ids.dynamiqServiceId, name),
      this.admin<{ variables: Record<string, { value?: string }> }>(
        `flightcontrol/services/${ids.flightcontrolServiceId}/env`,
      ),
      this.admin<{ secrets: Record<string, { value?: string }> }>(
        `dypai/engines/${ids.dypaiEngineId}/secrets`,
      ),
    ]);
    return { dynamiq, flightcontrol: fc.variables[name]?.value, dypai: dy.secrets[name]?.value };
  }

  /** True when the deployed endpoint of the Dynamiq service accepts the key. */
  async keyWorks(key: string | undefined): Promise<boolean> {
    if (!key) return false;
    const res = await fetch(`${this.emu.baseUrl}/apps/${this.emu.dynamiq.serviceId}/invoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
    });
    await res.arrayBuffer();
    return res.status === 200;
  }

  /**
   * Keeps checking, until stopped, the key each consumer holds against the deployed endpoint: a rotation is
   * seamless when no check ever finds a consumer holding a refused key. Every key seen is passed to `seen`.
   */
  watch(read: () => Promise<Held>, seen: (key: string) => void) {
    let running = true;
    let checks = 0;
    let refused = 0;
    const loop = (async () => {
      while (running) {
        const held = await read();
        for (const key of Object.values(held)) {
          if (key) seen(key);
          if (!(await this.keyWorks(key))) refused++;
        }
        checks++;
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    return async () => {
      running = false;
      await loop;
      return { checks, refused };
    };
  }
}

/** A short, safe form of a key: what the platform itself shows as its preview. */
export function keyPreview(key: string | undefined): string {
  return key ? `${key.slice(0, 15)}...${key.slice(-3)}` : "none";
}

/** The secret values the demo knows, and where it looks for them. */
export class SecretAudit {
  private readonly secrets = new Set<string>();

  add(...values: Array<string | undefined>): void {
    for (const v of values) if (v && v.length >= 8) this.secrets.add(v);
  }

  get size(): number {
    return this.secrets.size;
  }

  /** How many (secret, place) pairs hold a secret in plaintext. */
  count(places: Record<string, string>): number {
    let found = 0;
    for (const text of Object.values(places)) for (const s of this.secrets) if (text.includes(s)) found++;
    return found;
  }
}

/** Every file under a folder, as text, by path. */
export function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[file] = fs.readFileSync(file, "utf8");
  }
  return out;
}

// The secret-leak audit every scenario suite runs: collect each secret value the suite used (tokens, keys,
// secret env values, secret connection fields, Flightcontrol and DYPAI secrets), then scan every place text leaves
// the provider: the stored state (`pulumi stack export` and every file of the file backend; secrets inside
// Pulumi's envelopes are ciphertext, so plaintext anywhere is a leak), every `__provider` text, everything the
// Pulumi CLI printed (which carries the provider host's output), every error message, and the emulator's log. The figure is the number of (secret, place) pairs found: zero.

export class LeakAudit {
  private readonly secrets = new Set<string>();
  readonly found: string[] = [];
  /** Places scanned so far (for the report). */
  scanned = 0;

  constructor(public suite: string) {}

  /** Secrets shorter than 6 characters are not tracked: they would match ordinary text. */
  add(...values: Array<unknown>): this {
    for (const v of values) if (typeof v === "string" && v.length >= 6) this.secrets.add(v);
    return this;
  }

  /** Every string value inside an object (a secret config, a secretEnv map...). */
  addValues(obj: unknown): this {
    const walk = (v: unknown) => {
      if (typeof v === "string") this.add(v);
      else if (v && typeof v === "object") Object.values(v).forEach(walk);
    };
    walk(obj);
    return this;
  }

  get size(): number {
    return this.secrets.size;
  }

  /** Scans named texts; returns (and records) what was found, as `place: abcd…` (never the whole secret). */
  scan(places: Record<string, string>): string[] {
    const found: string[] = [];
    for (const [where, text] of Object.entries(places)) {
      this.scanned++;
      for (const s of this.secrets)
        if (text.includes(s)) found.push(`${this.suite}: ${where}: ${s.slice(0, 4)}…`);
    }
    this.found.push(...found);
    return found;
  }
}

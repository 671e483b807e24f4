// The naive baseline: the straightforward way to write a dynamic provider. The program builds a new provider
// object per resource, capturing the endpoint, the token and the resource's name (so every resource has its own
// `__provider`, which the program serialises and the host deserialises once each, and the token lands in state),
// and every call builds a new HTTP client (a new connection pool, hence a new TCP connection) and closes it
// afterwards. No validation, no retries. It is only ever used by the benchmarks, against the emulator.
import * as pulumi from "@pulumi/pulumi";
import { CONNECTION_OPTIONS, connectionProps, type BenchConnectionArgs } from "./thinnest";

type Props = Record<string, unknown>;

export class NaiveConnectionProvider {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
    readonly resourceName: string,
  ) {}

  async create(inputs: Props) {
    const undici = require("undici") as typeof import("undici");
    const agent = new undici.Agent();
    try {
      const res = await undici.request(`${this.baseUrl}/v1/connections`, {
        method: "POST",
        dispatcher: agent,
        headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
        body: JSON.stringify({
          name: inputs.name,
          project_id: inputs.projectId,
          type: inputs.type,
          config: inputs.config,
        }),
      });
      const body = (await res.body.json()) as { data: Props };
      if (res.statusCode >= 400) throw new Error(`${this.resourceName}: create failed (${res.statusCode})`);
      const rec = body.data;
      return { id: String(rec.id), outs: { ...inputs, status: rec.status, createdAt: rec.created_at } };
    } finally {
      await agent.close();
    }
  }

  async read(id: string, props: Props) {
    const undici = require("undici") as typeof import("undici");
    const agent = new undici.Agent();
    try {
      const res = await undici.request(`${this.baseUrl}/v1/connections/${encodeURIComponent(id)}`, {
        dispatcher: agent,
        headers: { authorization: `Bearer ${this.token}` },
      });
      const body = (await res.body.json()) as { data: Props };
      if (res.statusCode >= 400) throw new Error(`${this.resourceName}: read failed (${res.statusCode})`);
      const rec = body.data;
      return { id, props: { ...props, name: rec.name, type: rec.type, status: rec.status } };
    } finally {
      await agent.close();
    }
  }

  async delete(id: string) {
    const undici = require("undici") as typeof import("undici");
    const agent = new undici.Agent();
    try {
      const res = await undici.request(`${this.baseUrl}/v1/connections/${encodeURIComponent(id)}`, {
        method: "DELETE",
        dispatcher: agent,
        headers: { authorization: `Bearer ${this.token}` },
      });
      await res.body.dump();
      if (res.statusCode >= 400) throw new Error(`${this.resourceName}: delete failed (${res.statusCode})`);
    } finally {
      await agent.close();
    }
  }
}

/** A connection through the naive provider (type `pulumi-nodejs:dynamic/bench:NaiveConnection`). */
export class NaiveConnection extends pulumi.dynamic.Resource {
  constructor(name: string, args: BenchConnectionArgs) {
    const cfg = new pulumi.Config("dynamiq");
    const provider = new NaiveConnectionProvider(cfg.require("baseUrl"), cfg.require("token"), name);
    super(provider, name, connectionProps(args), CONNECTION_OPTIONS, "bench", "NaiveConnection");
  }
}

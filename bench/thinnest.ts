// The thinnest dynamic provider possible: one HTTP request per call through undici's global pool, with no
// validation, no retries, no secret handling and no drift logic. Run by the real engine side by side with ours,
// it is the floor that any dynamic provider pays for Pulumi's architecture (program -> engine -> gRPC -> host ->
// provider), so the benchmark can tell that cost apart from what our provider adds. It reads the endpoint and
// token in `configure`, as ours does, so neither is captured into `__provider`. Only ever used by the benchmarks.
import * as pulumi from "@pulumi/pulumi";

type Props = Record<string, unknown>;

interface ThinnestProvider extends pulumi.dynamic.ResourceProvider {
  baseUrl?: string;
  token?: string;
}

export function thinnestConnectionProvider(): ThinnestProvider {
  return {
    async configure(req: pulumi.dynamic.ConfigureRequest) {
      this.baseUrl = req.config.require("dynamiq:baseUrl");
      this.token = req.config.require("dynamiq:token");
    },
    async create(inputs: Props) {
      const { request } = require("undici") as typeof import("undici");
      const res = await request(`${this.baseUrl}/v1/connections`, {
        method: "POST",
        headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
        body: JSON.stringify({
          name: inputs.name,
          project_id: inputs.projectId,
          type: inputs.type,
          config: inputs.config,
        }),
      });
      const rec = ((await res.body.json()) as { data: Props }).data;
      return { id: String(rec.id), outs: { ...inputs, status: rec.status } };
    },
    async read(id: string, props?: Props) {
      const { request } = require("undici") as typeof import("undici");
      const res = await request(`${this.baseUrl}/v1/connections/${id}`, {
        headers: { authorization: `Bearer ${this.token}` },
      });
      const rec = ((await res.body.json()) as { data: Props }).data;
      return { id, props: { ...props, status: rec.status } };
    },
    async delete(id: string) {
      const { request } = require("undici") as typeof import("undici");
      const res = await request(`${this.baseUrl}/v1/connections/${id}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${this.token}` },
      });
      await res.body.dump();
    },
  };
}

export interface BenchConnectionArgs {
  projectId: string;
  name: string;
  type: string;
  config: Record<string, unknown>;
}

// One provider object for every resource: Pulumi serialises it once, as it does ours.
let shared: ThinnestProvider | undefined;

/**
 * The properties the benchmark's other connection classes register: the same as our `Connection`, its secret
 * `config` included. Pulumi's program runtime does work for every registered property, so with the same resource
 * the runs differ only by the provider.
 */
export function connectionProps(args: BenchConnectionArgs): Record<string, unknown> {
  return {
    ...args,
    config: pulumi.secret(args.config),
    checkSecretDrift: undefined,
    status: undefined,
    authorizationUrl: undefined,
    createdAt: undefined,
  };
}

/** What goes with `connectionProps`: `config` stays a secret in state. */
export const CONNECTION_OPTIONS: pulumi.CustomResourceOptions = { additionalSecretOutputs: ["config"] };

/** A connection through the thinnest provider (type `pulumi-nodejs:dynamic/bench:ThinnestConnection`). */
export class ThinnestConnection extends pulumi.dynamic.Resource {
  constructor(name: string, args: BenchConnectionArgs) {
    shared ??= thinnestConnectionProvider();
    super(shared, name, connectionProps(args), CONNECTION_OPTIONS, "bench", "ThinnestConnection");
  }
}

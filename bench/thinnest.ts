// The thinnest dynamic provider possible: one HTTP request per call through undici's global pool, with no
// validation, no retries, no secret handling and no drift logic. Driven through the same host as ours, it is the
// floor that any dynamic provider pays for Pulumi's architecture (engine -> gRPC -> host -> provider), so the
// benchmark can tell that cost apart from what our provider adds. Only ever used by the benchmarks.

type Props = Record<string, unknown>;

export function thinnestConnectionProvider(baseUrl: string, token: string) {
  return {
    async create(inputs: Props) {
      const { request } = require("undici") as typeof import("undici");
      const res = await request(`${baseUrl}/v1/connections`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
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
    async read(id: string, props: Props) {
      const { request } = require("undici") as typeof import("undici");
      const res = await request(`${baseUrl}/v1/connections/${id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const rec = ((await res.body.json()) as { data: Props }).data;
      return { id, props: { ...props, status: rec.status } };
    },
  };
}

// The catalogue of Dynamiq connection types and their config fields, from the dynamiq SDK's pydantic classes
// (shared/reference/dynamiq-connection-types.md). The platform drops unknown keys silently (pydantic's
// extra="ignore"), so a typo would be lost without a word: every known type rejects keys it does not have.
//
// Field notation: `name:kind[!][*]` where kind is s (string), i (integer), n (number), b (boolean),
// d (JSON object), m (string map), l (string list) or e(a|b|...) (one of the listed strings);
// `!` = required on the platform (no default, or a credential whose only default is an env var the platform
// does not have), `*` = secret (never returned by GET).
import type { z as Z } from "zod";

const HTTP_EXTRAS = "headers:d* params:d data:d";
const AWS = "access_key_id:s* secret_access_key:s* session_token:s* region:s! profile:s";
const GOOGLE =
  "project_id:s private_key_id:s private_key:s* client_email:s client_id:s auth_uri:s token_uri:s auth_provider_x509_cert_url:s client_x509_cert_url:s universe_domain:s";
const SQL = "host:s port:i database:s user:s password:s*";
const BROWSERBASE = "browserbase_api_key:s!* browserbase_project_id:s! model_api_key:s* extra_config:d";
const MCP_HTTP = "url:s! headers:m* timeout:n sse_read_timeout:n";
const API_KEY = "api_key:s!*";

const CATALOGUE: Record<string, string> = {
  // LLM and model providers
  OpenAI: `${API_KEY} url:s`,
  Anthropic: API_KEY,
  Gemini: API_KEY,
  Cohere: API_KEY,
  Mistral: API_KEY,
  MistralOCR: `${API_KEY} base_url:e(https://api.mistral.ai/)`,
  Groq: API_KEY,
  TogetherAI: API_KEY,
  Anyscale: API_KEY,
  HuggingFace: API_KEY,
  WatsonX: `${API_KEY} project_id:s! url:s!`,
  AzureAI: `${API_KEY} url:s! api_version:s!`,
  DeepInfra: API_KEY,
  Cerebras: API_KEY,
  Replicate: API_KEY,
  AI21: API_KEY,
  SambaNova: API_KEY,
  Novita: API_KEY,
  Perplexity: API_KEY,
  DeepSeek: API_KEY,
  xAI: API_KEY,
  FireworksAI: API_KEY,
  NvidiaNIM: `url:s! ${API_KEY}`,
  Databricks: `url:s! ${API_KEY}`,
  OpenRouter: `${API_KEY} url:s`,
  Ollama: "url:s",
  AWS,
  GoogleCloud: GOOGLE,
  VertexAI: `${GOOGLE} vertex_project_id:s! vertex_project_location:s! vertex_endpoint_id:s vertex_endpoint_dns:s vertex_api_base:s`,
  // generic HTTP
  Http: `url:s method:e(GET|POST|PUT|DELETE|PATCH)! ${HTTP_EXTRAS}`,
  HttpApiKey: `url:s! ${API_KEY}`,
  // speech
  Whisper: `url:s method:e(GET|POST|PUT|DELETE|PATCH) ${API_KEY} ${HTTP_EXTRAS}`,
  ElevenLabs: `url:s method:e(GET|POST|PUT|DELETE|PATCH) ${API_KEY} ${HTTP_EXTRAS}`,
  // vector stores, search engines, graph databases
  Pinecone: API_KEY,
  Qdrant: `url:s! ${API_KEY}`,
  Weaviate:
    "deployment_type:e(weaviate_cloud|custom) api_key:s!* url:s http_host:s http_port:i grpc_host:s grpc_port:i timeout_init:i timeout_query:i timeout_insert:i",
  Chroma: "host:s! port:i!",
  Milvus: "deployment_type:e(file|host) uri:s api_key:s*",
  Elasticsearch:
    "url:s api_key_id:s api_key:s* username:s password:s* cloud_id:s ca_path:s verify_certs:b use_ssl:b",
  AWSOpenSearch: `${AWS} host:s! port:i service:s use_ssl:b verify_certs:b ca_certs:s`,
  Neo4j: "uri:s! username:s! password:s!* database:s verify_connectivity:b",
  AWSNeptune: "host:s port:i use_https:b verify_ssl:b timeout:i",
  ApacheAGE: SQL,
  // SQL databases
  PostgreSQL: SQL,
  MySQL: SQL,
  Snowflake: "user:s password:s* account:s warehouse:s database:s schema:s",
  AWSRedshift: "host:s! port:i database:s user:s password:s*",
  DatabricksSQL: "server_hostname:s! http_path:s! access_token:s!*",
  // storage
  RedisConnection: "host:s! port:i! db:i! username:s password:s*",
  // tools, search, scraping, documents
  Tavily: `url:s ${API_KEY} method:e(POST) ${HTTP_EXTRAS}`,
  ScaleSerp: `url:s ${API_KEY} method:e(GET|POST|PUT|DELETE|PATCH) ${HTTP_EXTRAS}`,
  ZenRows: `url:s ${API_KEY} method:e(GET|POST|PUT|DELETE|PATCH) ${HTTP_EXTRAS}`,
  Firecrawl: `url:s ${API_KEY} method:e(POST) ${HTTP_EXTRAS}`,
  Exa: `url:e(https://api.exa.ai) method:e(POST) ${API_KEY} ${HTTP_EXTRAS}`,
  Jina: `url:s ${API_KEY} method:e(GET) ${HTTP_EXTRAS}`,
  Unstructured: `url:s ${API_KEY}`,
  Lakera: `url:e(https://api.lakera.ai/v2/) ${API_KEY}`,
  PipedreamOAuth2:
    "access_token:s!* project_id:s! url:e(https://api.pipedream.com/v1) environment:e(development|production) expires_at:s",
  AWSTextract: `${AWS} endpoint_url:s connect_timeout:n read_timeout:n max_attempts:i retry_mode:e(legacy|standard|adaptive)`,
  // sandboxes, browsers, computer use
  E2B: `${API_KEY} domain:s public_preview_domain:s`,
  Daytona: `${API_KEY} url:s target:s`,
  Browserbase: BROWSERBASE,
  Stagehand: BROWSERBASE,
  SteelBrowser:
    "environment:e(CLOUD|SELF_HOSTED) api_key:s* base_url:s model_api_key:s!* session_config:d extra_config:d",
  CuaDesktop:
    "api_key:s* os_type:e(linux|windows|macos) provider_type:e(cloud|docker) computer_name:s image:e(trycua/cua-xfce:latest|trycua/cua-ubuntu:latest)",
  // MCP
  MCPSse: MCP_HTTP,
  MCPStreamableHTTP: MCP_HTTP,
  MCPStdio: "command:s! args:l env:m* cwd:s encoding:s encoding_error_handler:e(strict|ignore|replace)",
  // other
  Dynamiq: `url:s ${API_KEY} headers:m*`,
};

/** Platform-side OAuth types: their fields are not public beyond `scopes`, so only that is checked. */
const OAUTH_TYPES = [
  "GoogleOAuth2",
  "DropboxOAuth2",
  "MicrosoftOAuth2",
  "BoxOAuth2",
  "NotionOAuth2",
  "GitHubOAuth2",
  "OAuth2",
];

export const TYPE_PREFIX = "dynamiq.connections.";

export interface FieldSpec {
  name: string;
  kind: string;
  required: boolean;
  secret: boolean;
  values?: string[];
}

function parseFields(spec: string): FieldSpec[] {
  return spec
    .split(/\s+/)
    .filter(Boolean)
    .map((token) => {
      const m = /^([A-Za-z0-9_]+):([sinbdml]|e\(([^)]*)\))(!?)(\*?)$/.exec(token);
      if (!m) throw new Error(`bad field spec ${token}`);
      return {
        name: m[1],
        kind: m[2].startsWith("e(") ? "e" : m[2],
        required: m[4] === "!",
        secret: m[5] === "*",
        values: m[3]?.split("|"),
      };
    });
}

/** The fields of a catalogued type, or undefined for a type the catalogue does not know. */
export function connectionFields(type: string): FieldSpec[] | undefined {
  if (!type.startsWith(TYPE_PREFIX)) return undefined;
  const spec = CATALOGUE[type.slice(TYPE_PREFIX.length)];
  return spec === undefined ? undefined : parseFields(spec);
}

export function isOAuthType(type: string): boolean {
  return type.startsWith(TYPE_PREFIX) && OAUTH_TYPES.includes(type.slice(TYPE_PREFIX.length));
}

export function knownConnectionTypes(): string[] {
  return [...Object.keys(CATALOGUE), ...OAUTH_TYPES].map((t) => TYPE_PREFIX + t);
}

/** Field names whose values are credentials, for a type; unknown types treat none as known. */
export function secretFields(type: string): string[] {
  return (connectionFields(type) ?? []).filter((f) => f.secret).map((f) => f.name);
}

// Schemas are built on first use and cached: a zod schema held at module scope would be captured by Pulumi's
// closure serialiser, which cannot serialise it.
const cache = new Map<string, Z.ZodType | null>();

/** The zod schema of a type's config, or null when the type is not catalogued (its config passes unchecked). */
export function configSchema(type: string): Z.ZodType | null {
  const hit = cache.get(type);
  if (hit !== undefined) return hit;
  const { z } = require("zod") as typeof import("zod");
  let schema: Z.ZodType | null = null;
  const fields = connectionFields(type);
  if (fields) {
    const shape: Record<string, Z.ZodType> = {};
    for (const f of fields) shape[f.name] = f.required ? fieldSchema(z, f) : fieldSchema(z, f).optional();
    schema = z.strictObject(shape).superRefine((cfg, ctx) => conditionalRules(type, cfg, ctx));
  } else if (isOAuthType(type)) {
    schema = z.looseObject({ scopes: z.array(z.string().min(1)).optional() });
  }
  cache.set(type, schema);
  return schema;
}

function fieldSchema(z: typeof import("zod").z, f: FieldSpec): Z.ZodType {
  switch (f.kind) {
    case "s":
      return f.required ? z.string().min(1, "must not be empty") : z.string();
    case "i":
      return z.number({ error: "must be an integer" }).int({ error: "must be an integer" });
    case "n":
      return z.number();
    case "b":
      return z.boolean();
    case "d":
      return z.record(z.string(), z.unknown());
    case "m":
      return z.record(z.string(), z.string());
    case "l":
      return z.array(z.string());
    case "e":
      return z.enum(f.values as [string, ...string[]]);
    default:
      throw new Error(`unknown field kind ${f.kind}`);
  }
}

// Cross-field rules the SDK's validators enforce.
function conditionalRules(type: string, cfg: Record<string, unknown>, ctx: Z.RefinementCtx): void {
  const need = (field: string, why: string) => {
    if (cfg[field] === undefined || cfg[field] === "")
      ctx.addIssue({ code: "custom", path: [field], message: `required ${why}` });
  };
  const forbid = (field: string, why: string) => {
    if (cfg[field] !== undefined)
      ctx.addIssue({ code: "custom", path: [field], message: `not allowed ${why}` });
  };
  switch (type.slice(TYPE_PREFIX.length)) {
    case "SteelBrowser":
      if ((cfg.environment ?? "CLOUD") === "CLOUD") {
        need("api_key", "when environment is CLOUD");
        forbid("base_url", "when environment is CLOUD");
      } else forbid("api_key", "when environment is SELF_HOSTED");
      break;
    case "CuaDesktop":
      if ((cfg.provider_type ?? "cloud") === "cloud") need("api_key", 'when provider_type is "cloud"');
      else need("image", 'when provider_type is "docker"');
      break;
    case "Milvus":
      if (cfg.deployment_type === "file" && typeof cfg.uri === "string" && !cfg.uri.endsWith(".db"))
        ctx.addIssue({
          code: "custom",
          path: ["uri"],
          message: 'must end with ".db" when deployment_type is "file"',
        });
      break;
    case "Weaviate":
      if ((cfg.deployment_type ?? "weaviate_cloud") === "weaviate_cloud")
        need("url", 'when deployment_type is "weaviate_cloud"');
      else {
        need("http_host", 'when deployment_type is "custom"');
        need("grpc_host", 'when deployment_type is "custom"');
      }
      break;
  }
}

// The REAL dynamic-provider host shipped in @pulumi/pulumi (cmd/dynamic-provider/index.js), spawned as its own
// process like the engine spawns `pulumi-resource-pulumi-nodejs`, and driven over gRPC with the generated
// ResourceProviderClient. Values sent are plaintext (the host answers Configure with acceptSecrets=false, so the
// engine strips secrets before every call and re-marks them afterwards; that is done by the caller).

import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as readline from "readline";

import type * as GrpcJs from "@grpc/grpc-js";
import type { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import type * as ProviderPb from "@pulumi/pulumi/proto/provider_pb";
import type * as EmptyPb from "google-protobuf/google/protobuf/empty_pb";
import type { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { Protos } from "./protos";
import { PropertyMap, normalize } from "./props";

export interface CheckResult {
  inputs: PropertyMap;
  failures: Array<{ property: string; reason: string }>;
}

export type DiffChanges = "unknown" | "none" | "some";

export interface DiffResult {
  changes: DiffChanges;
  replaces: string[];
  deleteBeforeReplace: boolean;
}

/** A provider error; `initFailed` is set when the status carried a pulumirpc.ErrorResourceInitFailed detail. */
export class ProviderError extends Error {
  constructor(
    message: string,
    public readonly initFailed?: { id: string; properties: PropertyMap; reasons: string[] },
  ) {
    super(message);
  }
}

/** The generated request classes share these setters (structurally; they have no common base). */
interface Addressed {
  setUrn(v: string): unknown;
  setName(v: string): unknown;
  setType(v: string): unknown;
  setId?(v: string): unknown;
}

interface Compared {
  setOlds(v: Struct): unknown;
  setNews(v: Struct): unknown;
  setOldInputs(v: Struct): unknown;
  setIgnorechangesList(v: string[]): unknown;
}

export interface HostOptions {
  protos: Protos;
  programDir: string;
  engineAddress: string;
  env: NodeJS.ProcessEnv;
  onLine: (line: string) => void;
}

export class ProviderHost {
  private proc: ChildProcess | undefined;
  private client: ResourceProviderClient | undefined;
  private exited = false;
  private exitInfo = "";

  private constructor(private readonly o: HostOptions) {}

  static async start(o: HostOptions): Promise<ProviderHost> {
    const host = new ProviderHost(o);
    await host.spawn();
    return host;
  }

  private async spawn(): Promise<void> {
    const script = path.join(this.o.protos.pulumiDir, "cmd", "dynamic-provider", "index.js");
    const proc = spawn(process.execPath, [script, this.o.engineAddress], {
      cwd: this.o.programDir,
      env: this.o.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc = proc;
    readline.createInterface({ input: proc.stderr! }).on("line", (l) => this.o.onLine(`[provider] ${l}`));
    const port = await new Promise<number>((resolve, reject) => {
      const rl = readline.createInterface({ input: proc.stdout! });
      let first = true;
      rl.on("line", (l) => {
        if (first) {
          first = false;
          const p = Number(l.trim());
          if (Number.isInteger(p) && p > 0) resolve(p);
          else reject(new Error(`dynamic provider host printed ${JSON.stringify(l)} instead of its port`));
          return;
        }
        this.o.onLine(`[provider] ${l}`);
      });
      proc.on("error", reject);
      proc.on("exit", (code, signal) => {
        this.exited = true;
        this.exitInfo = signal ? `signal ${signal}` : `code ${code}`;
        if (first)
          reject(new Error(`dynamic provider host exited (${this.exitInfo}) before printing its port`));
      });
    });
    const grpc = this.o.protos.grpc;
    const Client = this.o.protos.providerGrpc.ResourceProviderClient;
    this.client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": 400 * 1024 * 1024,
      "grpc.max_send_message_length": 400 * 1024 * 1024,
    });
  }

  private struct(m: PropertyMap) {
    return this.o.protos.structpb.Struct.fromJavaScript(m as Record<string, never>);
  }

  /** Sets the resource a request is about: URN, its name and type parts, and the id when there is one. */
  private about<R extends Addressed>(req: R, urn: string, id?: string): R {
    req.setUrn(urn);
    req.setName(urnName(urn));
    req.setType(urnType(urn));
    if (id !== undefined) req.setId?.(id);
    return req;
  }

  /** Sets what a diff or update compares: old outputs, new inputs, old inputs and the ignored paths. */
  private compare<R extends Compared>(
    req: R,
    olds: PropertyMap,
    news: PropertyMap,
    oldInputs: PropertyMap,
    ignoreChanges: string[],
  ): R {
    req.setOlds(this.struct(olds));
    req.setNews(this.struct(news));
    req.setOldInputs(this.struct(oldInputs));
    req.setIgnorechangesList(ignoreChanges);
    return req;
  }

  private unary<Res>(
    invoke: (cb: (err: GrpcJs.ServiceError | null, res: Res) => void) => unknown,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      invoke((err, res) => {
        if (err) reject(this.toProviderError(err));
        else resolve(res);
      });
    });
  }

  private toProviderError(err: GrpcJs.ServiceError): ProviderError {
    let message = err.details || err.message;
    if (this.exited) message = `${message} (dynamic provider host exited with ${this.exitInfo})`;
    const bins = err.metadata?.get("grpc-status-details-bin") ?? [];
    for (const bin of bins) {
      try {
        const status = this.o.protos.statusPb.Status.deserializeBinary(
          typeof bin === "string" ? Buffer.from(bin, "base64") : new Uint8Array(bin),
        );
        for (const any of status.getDetailsList()) {
          if (!any.getTypeUrl().endsWith("pulumirpc.ErrorResourceInitFailed")) continue;
          const detail = this.o.protos.providerPb.ErrorResourceInitFailed.deserializeBinary(
            any.getValue_asU8(),
          );
          return new ProviderError(status.getMessage() || message, {
            id: detail.getId(),
            properties: normalize(detail.getProperties()?.toJavaScript()),
            reasons: detail.getReasonsList(),
          });
        }
      } catch {
        // not a status we understand: plain error
      }
    }
    return new ProviderError(message);
  }

  async configure(config: Record<string, string>): Promise<void> {
    const pb = this.o.protos.providerPb;
    const req = new pb.ConfigureRequest();
    req.setArgs(this.struct(config));
    req.setAcceptsecrets(true);
    req.setAcceptresources(true);
    req.setSendsOldInputs(true);
    req.setSendsOldInputsToDelete(true);
    const c = this.client!;
    await this.unary<ProviderPb.ConfigureResponse>((cb) => c.configure(req, cb));
  }

  async check(urn: string, olds: PropertyMap, news: PropertyMap): Promise<CheckResult> {
    const pb = this.o.protos.providerPb;
    const req = this.about(new pb.CheckRequest(), urn);
    req.setOlds(this.struct(olds));
    req.setNews(this.struct(news));
    const c = this.client!;
    const res = await this.unary<ProviderPb.CheckResponse>((cb) => c.check(req, cb));
    return {
      inputs: normalize(res.getInputs()?.toJavaScript()),
      failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
    };
  }

  async diff(
    id: string,
    urn: string,
    olds: PropertyMap,
    news: PropertyMap,
    oldInputs: PropertyMap,
    ignoreChanges: string[],
  ): Promise<DiffResult> {
    const pb = this.o.protos.providerPb;
    const req = this.compare(this.about(new pb.DiffRequest(), urn, id), olds, news, oldInputs, ignoreChanges);
    const c = this.client!;
    const res = await this.unary<ProviderPb.DiffResponse>((cb) => c.diff(req, cb));
    const D = pb.DiffResponse.DiffChanges;
    const ch = res.getChanges();
    return {
      changes: ch === D.DIFF_SOME ? "some" : ch === D.DIFF_NONE ? "none" : "unknown",
      replaces: res.getReplacesList(),
      deleteBeforeReplace: res.getDeletebeforereplace(),
    };
  }

  async create(urn: string, props: PropertyMap): Promise<{ id: string; properties: PropertyMap }> {
    const pb = this.o.protos.providerPb;
    const req = this.about(new pb.CreateRequest(), urn);
    req.setProperties(this.struct(props));
    req.setPreview(false);
    const c = this.client!;
    const res = await this.unary<ProviderPb.CreateResponse>((cb) => c.create(req, cb));
    return { id: res.getId(), properties: normalize(res.getProperties()?.toJavaScript()) };
  }

  async update(
    id: string,
    urn: string,
    olds: PropertyMap,
    news: PropertyMap,
    oldInputs: PropertyMap,
    ignoreChanges: string[],
  ): Promise<PropertyMap> {
    const pb = this.o.protos.providerPb;
    const req = this.compare(
      this.about(new pb.UpdateRequest(), urn, id),
      olds,
      news,
      oldInputs,
      ignoreChanges,
    );
    req.setPreview(false);
    const c = this.client!;
    const res = await this.unary<ProviderPb.UpdateResponse>((cb) => c.update(req, cb));
    return normalize(res.getProperties()?.toJavaScript());
  }

  async read(
    id: string,
    urn: string,
    props: PropertyMap,
    inputs: PropertyMap,
  ): Promise<{ id: string; properties: PropertyMap; inputs?: PropertyMap }> {
    const pb = this.o.protos.providerPb;
    const req = this.about(new pb.ReadRequest(), urn, id);
    req.setProperties(this.struct(props));
    req.setInputs(this.struct(inputs));
    const c = this.client!;
    const res = await this.unary<ProviderPb.ReadResponse>((cb) => c.read(req, cb));
    const ins = res.getInputs();
    return {
      id: res.getId(),
      properties: normalize(res.getProperties()?.toJavaScript()),
      inputs: ins ? normalize(ins.toJavaScript()) : undefined,
    };
  }

  async delete(id: string, urn: string, props: PropertyMap, oldInputs: PropertyMap): Promise<void> {
    const pb = this.o.protos.providerPb;
    const req = this.about(new pb.DeleteRequest(), urn, id);
    req.setProperties(this.struct(props));
    req.setOldInputs(this.struct(oldInputs));
    const c = this.client!;
    await this.unary<EmptyPb.Empty>((cb) => c.delete(req, cb));
  }

  async stop(): Promise<void> {
    this.client?.close();
    const proc = this.proc;
    if (!proc || this.exited) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        proc.kill("SIGKILL");
      }, 3000);
      proc.once("exit", () => {
        clearTimeout(t);
        resolve();
      });
      proc.kill("SIGTERM");
    });
  }
}

/** Name part of a URN (`urn:pulumi:stack::project::type::name`). */
export function urnName(urn: string): string {
  const parts = urn.split("::");
  return parts.slice(3).join("::");
}

/** Type part (last element of the qualified type chain) of a URN. */
export function urnType(urn: string): string {
  const qualified = urn.split("::")[2] ?? "";
  const chain = qualified.split("$");
  return chain[chain.length - 1];
}

/** Qualified type chain of a URN. */
export function urnQualifiedType(urn: string): string {
  return urn.split("::")[2] ?? "";
}

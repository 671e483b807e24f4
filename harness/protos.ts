// Loads @grpc/grpc-js, google-protobuf and the generated Pulumi gRPC stubs from the @pulumi/pulumi that the
// program directory resolves (the same copy the program and the dynamic-provider host run on).

import { createRequire } from "module";
import * as path from "path";

import type * as GrpcJs from "@grpc/grpc-js";
import type * as StructPb from "google-protobuf/google/protobuf/struct_pb";
import type * as EmptyPb from "google-protobuf/google/protobuf/empty_pb";
import type * as ResourcePb from "@pulumi/pulumi/proto/resource_pb";
import type * as ResourceGrpc from "@pulumi/pulumi/proto/resource_grpc_pb";
import type * as EnginePb from "@pulumi/pulumi/proto/engine_pb";
import type * as EngineGrpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import type * as ProviderPb from "@pulumi/pulumi/proto/provider_pb";
import type * as ProviderGrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import type * as StatusPb from "@pulumi/pulumi/proto/status_pb";

export interface Protos {
  /** Directory of the resolved @pulumi/pulumi package. */
  pulumiDir: string;
  pulumiVersion: string;
  grpc: typeof GrpcJs;
  structpb: typeof StructPb;
  emptypb: typeof EmptyPb;
  resourcePb: typeof ResourcePb;
  resourceGrpc: typeof ResourceGrpc;
  enginePb: typeof EnginePb;
  engineGrpc: typeof EngineGrpc;
  providerPb: typeof ProviderPb;
  providerGrpc: typeof ProviderGrpc;
  statusPb: typeof StatusPb;
}

const cache = new Map<string, Protos>();

export function loadProtos(programDir: string): Protos {
  const pkgJson = require.resolve("@pulumi/pulumi/package.json", { paths: [path.resolve(programDir)] });
  const hit = cache.get(pkgJson);
  if (hit) return hit;
  const pulumiDir = path.dirname(pkgJson);
  const req = createRequire(pkgJson);
  const protos: Protos = {
    pulumiDir,
    pulumiVersion: (req(pkgJson) as { version: string }).version,
    grpc: req("@grpc/grpc-js") as typeof GrpcJs,
    structpb: req("google-protobuf/google/protobuf/struct_pb") as typeof StructPb,
    emptypb: req("google-protobuf/google/protobuf/empty_pb") as typeof EmptyPb,
    resourcePb: req("./proto/resource_pb") as typeof ResourcePb,
    resourceGrpc: req("./proto/resource_grpc_pb") as typeof ResourceGrpc,
    enginePb: req("./proto/engine_pb") as typeof EnginePb,
    engineGrpc: req("./proto/engine_grpc_pb") as typeof EngineGrpc,
    providerPb: req("./proto/provider_pb") as typeof ProviderPb,
    providerGrpc: req("./proto/provider_grpc_pb") as typeof ProviderGrpc,
    statusPb: req("./proto/status_pb") as typeof StatusPb,
  };
  cache.set(pkgJson, protos);
  return protos;
}

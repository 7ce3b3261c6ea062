/**
 * Loads the contracts at run time with @grpc/proto-loader. The options here are the ones the
 * committed TypeScript types in `generated/` were made with (`npm run gen-types`); a test checks that
 * regenerating them changes nothing.
 */

import * as path from "node:path";

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

import type { ProtoGrpcType } from "./generated/episode_service";

/** The contracts shipped in the package (dist/protos, copied from the repository's protos/ by `npm run build`;
 * this file is compiled to dist/src/). */
export const DEFAULT_PROTO_ROOT = path.resolve(__dirname, "..", "protos");

/** Where google/rpc/*.proto live: the google-proto-files package. */
export function googleProtoRoot(): string {
  return path.dirname(require.resolve("google-proto-files/package.json"));
}

/** As in `gen-types`: camelCase fields, enum values as names, int64 as number (seeds stay below 2^53). */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The episode service's package, loaded from `protoRoot`. */
export function loadEpisodeProtos(protoRoot: string = DEFAULT_PROTO_ROOT): ProtoGrpcType {
  const definition = protoLoader.loadSync("mlopsdebug/episode/v1/episode_service.proto", {
    ...LOADER_OPTIONS,
    includeDirs: [protoRoot, googleProtoRoot()],
  });
  return grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
}

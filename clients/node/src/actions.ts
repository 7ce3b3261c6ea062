/**
 * Builders for the agent's actions. Enum arguments take the specification's short names
 * ("loss_trajectory", "config.yaml", "config_error") or the full enum value names; an unknown name
 * throws a TypeError that lists the accepted ones. Text fields are left for the server to validate,
 * so its INVALID_ARGUMENT with field violations stays the single source of truth.
 */

import type { Action } from "./generated/mlopsdebug/common/v1/Action";
import { ArtifactName } from "./generated/mlopsdebug/common/v1/ArtifactName";
import { FailureCategory } from "./generated/mlopsdebug/common/v1/FailureCategory";
import { SanityCheckType } from "./generated/mlopsdebug/common/v1/SanityCheckType";

// The short names are derived from the generated enums, not written out: a value added to the
// contract becomes accepted here (and in the types) when the types are regenerated.
type Short<V, P extends string> = V extends `${P}UNSPECIFIED` ? never : V extends `${P}${infer R}` ? Lowercase<R> : never;
/** "dataset_stats_json" -> "dataset_stats.json": an artifact's short name is its file name. */
type FileName<S extends string> = S extends `${infer A}_${infer B}`
  ? B extends `${string}_${string}`
    ? `${A}_${FileName<B>}`
    : `${A}.${B}`
  : S;
type ShortTable<E extends string, P extends string> = { readonly [V in E as Short<V, P>]: V };
type FileTable<E extends string, P extends string> = { readonly [V in E as FileName<Short<V, P>>]: V };

function shortNames(values: Record<string, string>, prefix: string, fileNames = false): Record<string, string> {
  const table: Record<string, string> = {};
  for (const value of Object.keys(values)) {
    if (value === `${prefix}UNSPECIFIED`) continue;
    let short = value.slice(prefix.length).toLowerCase();
    if (fileNames) {
      const dot = short.lastIndexOf("_");
      short = `${short.slice(0, dot)}.${short.slice(dot + 1)}`;
    }
    table[short] = value;
  }
  return table;
}

type CheckValue = keyof typeof SanityCheckType;
type ArtifactValue = keyof typeof ArtifactName;
type CategoryValue = keyof typeof FailureCategory;

export const SANITY_CHECKS = shortNames(SanityCheckType, "SANITY_CHECK_TYPE_") as ShortTable<CheckValue, "SANITY_CHECK_TYPE_">;
export const ARTIFACTS = shortNames(ArtifactName, "ARTIFACT_NAME_", true) as FileTable<ArtifactValue, "ARTIFACT_NAME_">;
export const FAILURE_CATEGORIES = shortNames(FailureCategory, "FAILURE_CATEGORY_") as ShortTable<CategoryValue, "FAILURE_CATEGORY_">;

export type SanityCheckName = keyof typeof SANITY_CHECKS | (typeof SANITY_CHECKS)[keyof typeof SANITY_CHECKS];
export type ArtifactFileName = keyof typeof ARTIFACTS | (typeof ARTIFACTS)[keyof typeof ARTIFACTS];
export type FailureCategoryName = keyof typeof FAILURE_CATEGORIES | (typeof FAILURE_CATEGORIES)[keyof typeof FAILURE_CATEGORIES];

function enumValue<T extends Record<string, string>>(table: T, what: string, name: string): T[keyof T] {
  if (Object.prototype.hasOwnProperty.call(table, name)) {
    return table[name as keyof T];
  }
  if ((Object.values(table) as string[]).includes(name)) {
    return name as T[keyof T];
  }
  throw new TypeError(`unknown ${what} ${JSON.stringify(name)}; one of ${Object.keys(table).join(", ")}`);
}

/** What a submission says: the fault's category, the file and field at fault, the reasoning and the fix. */
export interface DiagnosisInput {
  failureCategory: FailureCategoryName;
  rootCauseFile: string;
  rootCauseField: string;
  diagnosis: string;
  proposedFix: string;
}

export function readConfig(): Action {
  return { readConfig: {} };
}

/** train.log, optionally filtered by a keyword or an epoch range such as "epoch:3-5". */
export function readLogs(logFilter = ""): Action {
  return { readLogs: { logFilter } };
}

export function checkDatasetStats(): Action {
  return { checkDatasetStats: {} };
}

export function inspectPreprocessing(): Action {
  return { inspectPreprocessing: {} };
}

export function readEvalResults(): Action {
  return { readEvalResults: {} };
}

export function runSanityCheck(check: SanityCheckName): Action {
  return { runSanityCheck: { check: enumValue(SANITY_CHECKS, "sanity check", check) } };
}

/** One value of an artifact by dot path, e.g. queryArtifact("config.yaml", "optimizer.lr"). */
export function queryArtifact(artifact: ArtifactFileName, fieldPath: string): Action {
  return { queryArtifact: { artifact: enumValue(ARTIFACTS, "artifact", artifact), fieldPath } };
}

/** Ends the episode; the step's reward is the grade. */
export function submitDiagnosis(input: DiagnosisInput): Action {
  return {
    submitDiagnosis: {
      diagnosis: {
        failureCategory: enumValue(FAILURE_CATEGORIES, "failure category", input.failureCategory),
        rootCauseFile: input.rootCauseFile,
        rootCauseField: input.rootCauseField,
        diagnosis: input.diagnosis,
        proposedFix: input.proposedFix,
      },
    },
  };
}

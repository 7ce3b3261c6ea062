/**
 * Builders for the agent's actions. Enum arguments take the specification's short names
 * ("loss_trajectory", "config.yaml", "config_error") or the full enum value names; an unknown name
 * throws a TypeError that lists the accepted ones. Text fields are left for the server to validate,
 * so its INVALID_ARGUMENT with field violations stays the single source of truth.
 */

import type { Action } from "./generated/mlopsdebug/common/v1/Action";
import type { ArtifactName } from "./generated/mlopsdebug/common/v1/ArtifactName";
import type { FailureCategory } from "./generated/mlopsdebug/common/v1/FailureCategory";
import type { SanityCheckType } from "./generated/mlopsdebug/common/v1/SanityCheckType";

export const SANITY_CHECKS = {
  label_consistency: "SANITY_CHECK_TYPE_LABEL_CONSISTENCY",
  data_leakage: "SANITY_CHECK_TYPE_DATA_LEAKAGE",
  gradient_norms: "SANITY_CHECK_TYPE_GRADIENT_NORMS",
  class_balance: "SANITY_CHECK_TYPE_CLASS_BALANCE",
  feature_statistics: "SANITY_CHECK_TYPE_FEATURE_STATISTICS",
  encoder_version_match: "SANITY_CHECK_TYPE_ENCODER_VERSION_MATCH",
  loss_trajectory: "SANITY_CHECK_TYPE_LOSS_TRAJECTORY",
  metric_gap_analysis: "SANITY_CHECK_TYPE_METRIC_GAP_ANALYSIS",
} as const satisfies Record<string, SanityCheckType>;

export const ARTIFACTS = {
  "config.yaml": "ARTIFACT_NAME_CONFIG_YAML",
  "train.log": "ARTIFACT_NAME_TRAIN_LOG",
  "dataset_stats.json": "ARTIFACT_NAME_DATASET_STATS_JSON",
  "preprocessing.py": "ARTIFACT_NAME_PREPROCESSING_PY",
  "eval_results.json": "ARTIFACT_NAME_EVAL_RESULTS_JSON",
  "model_card.json": "ARTIFACT_NAME_MODEL_CARD_JSON",
} as const satisfies Record<string, ArtifactName>;

export const FAILURE_CATEGORIES = {
  config_error: "FAILURE_CATEGORY_CONFIG_ERROR",
  data_leakage: "FAILURE_CATEGORY_DATA_LEAKAGE",
  evaluation_bug: "FAILURE_CATEGORY_EVALUATION_BUG",
  preprocessing_bug: "FAILURE_CATEGORY_PREPROCESSING_BUG",
  label_mismatch: "FAILURE_CATEGORY_LABEL_MISMATCH",
  architecture_bug: "FAILURE_CATEGORY_ARCHITECTURE_BUG",
} as const satisfies Record<string, FailureCategory>;

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

/**
 * Plays a scripted episode and prints the reset's and every step's observation as one JSON line each.
 *
 *   node dist/examples/replay.js ADDRESS TASK SEED '[["read_config"], ["run_sanity_check", "loss_trajectory"], ...]'
 *
 * Each script item is an action type of the specification followed by its arguments:
 * read_logs [filter], run_sanity_check CHECK, query_artifact ARTIFACT FIELD_PATH, submit_diagnosis
 * {failureCategory, rootCauseFile, rootCauseField, diagnosis, proposedFix}, or an argument-less read.
 * The cross-language test plays the same script with the Python client and compares the lines.
 */

import { actions, type Action, type DiagnosisInput, EpisodeClient } from "../src/index";

type ScriptItem = [string, ...unknown[]];

function toAction([type, ...args]: ScriptItem): Action {
  switch (type) {
    case "read_config":
      return actions.readConfig();
    case "read_logs":
      return actions.readLogs((args[0] as string | undefined) ?? "");
    case "check_dataset_stats":
      return actions.checkDatasetStats();
    case "inspect_preprocessing":
      return actions.inspectPreprocessing();
    case "read_eval_results":
      return actions.readEvalResults();
    case "run_sanity_check":
      return actions.runSanityCheck(args[0] as actions.SanityCheckName);
    case "query_artifact":
      return actions.queryArtifact(args[0] as actions.ArtifactFileName, args[1] as string);
    case "submit_diagnosis":
      return actions.submitDiagnosis(args[0] as DiagnosisInput);
    default:
      throw new TypeError(`unknown action type ${JSON.stringify(type)}`);
  }
}

async function main(): Promise<void> {
  const [address, task, seed, script] = process.argv.slice(2);
  if (!address || !task || seed === undefined || !script) {
    throw new Error("usage: replay.js ADDRESS TASK SEED SCRIPT_JSON");
  }
  const client = new EpisodeClient(address);
  const session = client.session();
  try {
    const reset = await session.reset(task, { seed: Number(seed) });
    console.log(JSON.stringify(reset.observation));
    for (const item of JSON.parse(script) as ScriptItem[]) {
      console.log(JSON.stringify((await session.step(toAction(item))).observation));
    }
  } finally {
    await session.end();
    client.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});

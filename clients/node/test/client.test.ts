/**
 * The Node client against a real episode service (real gRPC, real sockets). The address comes from
 * MLOPSDEBUG_EPISODE_ADDR; tests/integration/test_node_client.py starts a cluster and runs this file.
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import * as grpc from "@grpc/grpc-js";

import { actions, EpisodeClient, MLOpsDebugError } from "../src/index";
import { loadEpisodeProtos } from "../src/protos";

const address = process.env.MLOPSDEBUG_EPISODE_ADDR;
if (!address) {
  throw new Error("set MLOPSDEBUG_EPISODE_ADDR to a running episode service");
}

const SUBMISSION = actions.submitDiagnosis({
  failureCategory: "config_error",
  rootCauseFile: "config.yaml",
  rootCauseField: "optimizer.lr",
  diagnosis: "the learning rate is far too high, so the loss diverges",
  proposedFix: "lower optimizer.lr to 3e-4",
});

async function rejection(promise: Promise<unknown>): Promise<MLOpsDebugError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof MLOpsDebugError, `not an MLOpsDebugError: ${String(error)}`);
    return error;
  }
  assert.fail("the call succeeded");
}

// Set by tests/integration/test_node_client.py's TLS test: an episode service serving TLS, and its CA.
const tlsAddress = process.env.MLOPSDEBUG_TLS_EPISODE_ADDR;
const tlsCaFile = process.env.MLOPSDEBUG_TLS_CA_FILE;

describe("TLS to the episode service", { skip: !(tlsAddress && tlsCaFile) }, () => {
  test("connects with the CA file given as tlsCaFile", async () => {
    const client = new EpisodeClient(tlsAddress!, { timeoutMs: 30_000, tlsCaFile });
    try {
      const tasks = await client.listTasks();
      assert.ok(tasks.some((task) => task.taskId === "easy"));
    } finally {
      client.close();
    }
  });

  test("takes the CA file from MLOPSDEBUG_TLS_CA", async () => {
    process.env.MLOPSDEBUG_TLS_CA = tlsCaFile;
    const client = new EpisodeClient(tlsAddress!, { timeoutMs: 30_000 });
    try {
      const reset = await client.reset("easy", { seed: 4 });
      assert.equal(reset.observation?.stepCount, 0);
    } finally {
      delete process.env.MLOPSDEBUG_TLS_CA;
      client.close();
    }
  });

  test("a plaintext client is refused with UNAVAILABLE", async () => {
    const client = new EpisodeClient(tlsAddress!, { timeoutMs: 5_000, maxRetries: 0 });
    try {
      assert.equal((await rejection(client.listTasks())).code, "UNAVAILABLE");
    } finally {
      client.close();
    }
  });
});

describe("EpisodeClient (unary calls)", () => {
  let client: EpisodeClient;
  before(() => {
    client = new EpisodeClient(address, { timeoutMs: 30_000 });
  });
  after(() => client.close());

  test("lists the three task families, easy to hard, then the pinned versions", async () => {
    const tasks = await client.listTasks();
    assert.deepEqual(
      tasks.slice(0, 3).map((t) => [t.taskId, t.maxSteps]),
      [["easy", 20], ["medium", 30], ["hard", 40]],
    );
    assert.deepEqual(
      tasks.slice(3, 6).map((t) => [t.taskId, t.version, t.hasHeldoutSplit]),
      [["easy-v1", 1, false], ["medium-v1", 1, false], ["hard-v1", 1, false]],
    );
  });

  test("a split the task does not have is refused with INVALID_ARGUMENT", async () => {
    const error = await rejection(client.reset("hard-v1", { seed: 1, split: "heldout" }));
    assert.equal(error.code, "INVALID_ARGUMENT");
    assert.equal(error.reason, "NO_SUCH_SPLIT");
  });

  test("plays an episode: reset, every kind of read, a graded submission, the final state", async () => {
    const id = `node-unary-${process.pid}`;
    // A pinned task version: its scenarios never change as the newest pools grow (this one's config
    // uses the "sections" layout that the reads below address).
    const reset = await client.reset("easy-v1", { seed: 10, episodeId: id });
    assert.equal(reset.episodeId, id);
    assert.equal(reset.seed, 10);
    const observation = reset.observation!;
    assert.equal(observation.stepCount, 0);
    assert.equal(observation.availableArtifacts.length, 6);

    const config = (await client.step(id, actions.readConfig())).observation!;
    assert.equal(config.stepCount, 1);
    assert.equal(config.reward, 0.02);
    assert.match(config.lastActionResult!.artifact!.content, /optimizer/);
    assert.deepEqual(config.artifactsRead, ["config.yaml"]);

    const again = (await client.step(id, actions.readConfig())).observation!;
    assert.equal(again.reward, -0.02, "an identical repeated read costs");

    const check = (await client.step(id, actions.runSanityCheck("loss_trajectory"))).observation!;
    assert.equal(check.reward, 0.01);
    assert.equal(check.lastActionResult!.result, "sanityCheck");

    const query = (await client.step(id, actions.queryArtifact("config.yaml", "training.epochs"))).observation!;
    assert.equal(query.lastActionResult!.result, "field");

    for (const action of [actions.readLogs("epoch:1-2"), actions.checkDatasetStats(), actions.inspectPreprocessing(), actions.readEvalResults()]) {
      assert.equal((await client.step(id, action)).observation!.done, false);
    }

    const graded = (await client.step(id, SUBMISSION)).observation!;
    assert.equal(graded.done, true);
    assert.equal(graded.terminated, true);
    const grade = graded.lastActionResult!.grade!;
    assert.ok(grade.score >= 0 && grade.score <= 1);
    assert.equal(graded.reward, grade.score);
    assert.deepEqual(grade.components.map((c) => c.kind).sort(), [
      "GRADE_COMPONENT_KIND_CATEGORY", "GRADE_COMPONENT_KIND_FIELD", "GRADE_COMPONENT_KIND_FILE", "GRADE_COMPONENT_KIND_FIX",
    ]);

    const state = await client.getState(id);
    assert.equal(state.state, "EPISODE_STATE_TERMINATED");
    assert.equal(state.stepCount, 9);
    const closed = await client.closeEpisode(id);
    assert.equal(closed.stepCount, 9);
  });

  test("errors carry the canonical code, the reason and field violations", async () => {
    const missing = await rejection(client.step("ep-never-made", actions.readConfig()));
    assert.equal(missing.code, "NOT_FOUND");
    assert.equal(missing.reason, "EPISODE_NOT_FOUND");
    assert.equal(missing.domain, "episode.mlopsdebug");
    assert.equal(missing.retryable, false);

    const badTask = await rejection(client.reset("impossible"));
    assert.equal(badTask.code, "INVALID_ARGUMENT");
    assert.deepEqual(badTask.fieldViolations.map((v) => v.field), ["task_id"]);

    const badSeed = await rejection(client.reset("easy", { seed: -1 }));
    assert.equal(badSeed.code, "INVALID_ARGUMENT");
    assert.equal(badSeed.reason, "INVALID_SEED");

    const id = (await client.reset("easy", { seed: 3 })).episodeId;
    await client.step(id, SUBMISSION);
    const ended = await rejection(client.step(id, actions.readConfig()));
    assert.equal(ended.code, "FAILED_PRECONDITION");
    assert.equal((await client.getState(id)).stepCount, 1, "the refused step changed nothing");
    await client.closeEpisode(id);
  });

  test("bad enum names are refused before anything is sent", () => {
    assert.throws(() => actions.runSanityCheck("vibes" as never), /unknown sanity check "vibes"; one of label_consistency/);
  });

  test("stepBatch answers each item on its own", async () => {
    const a = (await client.reset("medium", { seed: 11 })).episodeId;
    const b = (await client.reset("hard", { seed: 12 })).episodeId;
    const outcomes = await client.stepBatch([
      { episodeId: a, action: actions.readConfig() },
      { episodeId: "ep-not-there", action: actions.readConfig() },
      { episodeId: b, action: actions.checkDatasetStats() },
    ]);
    assert.equal(outcomes.length, 3);
    assert.ok(!(outcomes[0] instanceof MLOpsDebugError) && outcomes[0].observation!.stepCount === 1);
    assert.ok(outcomes[1] instanceof MLOpsDebugError && outcomes[1].code === "NOT_FOUND");
    assert.ok(!(outcomes[2] instanceof MLOpsDebugError) && outcomes[2].observation!.taskId === "hard");
    await client.closeEpisode(a);
    await client.closeEpisode(b);
  });
});

describe("EpisodeSession (the bidirectional stream)", () => {
  test("acts on the current episode, answers errors in-band, and closes its episodes when it ends", async () => {
    const client = new EpisodeClient(address);
    try {
      const session = client.session();
      const reset = await session.reset("hard", { seed: 5 });
      const read = await session.step(actions.readEvalResults());
      assert.equal(read.observation!.stepCount, 1);
      assert.equal(read.observation!.lastActionResult!.artifact!.name, "ARTIFACT_NAME_EVAL_RESULTS_JSON");

      const refused = await rejection(session.step(actions.readConfig(), "ep-not-there"));
      assert.equal(refused.code, "NOT_FOUND");
      assert.equal((await session.getState()).stepCount, 1, "the stream is still open after an error");

      const [first, second] = await Promise.all([session.step(actions.readConfig()), session.step(actions.readLogs())]);
      assert.deepEqual([first.observation!.stepCount, second.observation!.stepCount], [2, 3], "answered in order");

      await session.end();
      const gone = await rejection(client.getState(reset.episodeId));
      assert.equal(gone.code, "NOT_FOUND");
      await rejection(session.step(actions.readConfig()));
    } finally {
      client.close();
    }
  });

  test("an unreachable service is UNAVAILABLE and retryable", async () => {
    const client = new EpisodeClient("127.0.0.1:1", { timeoutMs: 2_000 });
    try {
      const error = await rejection(client.listTasks());
      assert.ok(["UNAVAILABLE", "DEADLINE_EXCEEDED"].includes(error.code), error.message);
      assert.equal(error.retryable, true);
    } finally {
      client.close();
    }
  });
});

describe("EpisodeSession against a peer that never answers", () => {
  test("a request unanswered within the timeout fails with DEADLINE_EXCEEDED and ends the stream", async () => {
    // A real gRPC server whose Session reads requests and never replies.
    const server = new grpc.Server();
    server.addService(loadEpisodeProtos().mlopsdebug.episode.v1.EpisodeService.service, {
      Session: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.on("data", () => undefined),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    const client = new EpisodeClient(`127.0.0.1:${port}`, { timeoutMs: 300 });
    try {
      const session = client.session();
      const error = await rejection(session.reset("easy", { seed: 1 }));
      assert.equal(error.code, "DEADLINE_EXCEEDED");
      assert.equal(error.reason, "SESSION_TIMEOUT");
      assert.equal((await rejection(session.step(actions.readConfig()))).code, "DEADLINE_EXCEEDED", "the stream stays failed");
      await session.end();
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});

describe("BatchingSession (many agents, one stream)", () => {
  const script = [actions.readConfig(), actions.readLogs("warning"), actions.runSanityCheck("data_leakage"), actions.checkDatasetStats()];

  test("concurrent agents see what they would see alone, and their steps travel together", async () => {
    const client = new EpisodeClient(address, { timeoutMs: 30_000 });
    try {
      const seeds = [11, 12, 13, 14, 15, 16, 17, 18];
      const alone = [];
      for (const seed of seeds) {
        const id = (await client.reset("medium", { seed })).episodeId;
        const seen = [];
        for (const action of [...script, SUBMISSION]) {
          seen.push((await client.step(id, action)).observation);
        }
        alone.push(seen);
        await client.closeEpisode(id);
      }
      const batching = client.batchingSession();
      const together = await Promise.all(
        seeds.map(async (seed) => {
          const id = (await batching.reset("medium", { seed })).episodeId;
          const seen = [];
          for (const action of [...script, SUBMISSION]) {
            seen.push((await batching.step(action, id)).observation);
          }
          await batching.closeEpisode(id);
          return seen;
        }),
      );
      assert.deepEqual(together, alone);
      assert.equal(batching.stepsSent, seeds.length * script.length, "submissions travel alone, on side streams");
      // Some batch carried several steps. How many on average depends on how fast the service answers
      // (3.7 once, 2.7 after the service got faster): a speed, not something to assert.
      assert.ok(batching.batchesSent < batching.stepsSent, `${batching.stepsSent} steps in ${batching.batchesSent} batches`);
      await batching.end();
      assert.equal(batching.closed, true);
      assert.equal((await rejection(batching.step(actions.readConfig(), "any"))).reason, "SESSION_CLOSED");
    } finally {
      client.close();
    }
  });

  test("a failing step rejects only its own caller", async () => {
    const client = new EpisodeClient(address, { timeoutMs: 30_000 });
    const batching = client.batchingSession({ sideStreams: 0 });
    try {
      const ids = await Promise.all([1, 2, 3].map(async (seed) => (await batching.reset("easy", { seed: 60 + seed })).episodeId));
      const results = await Promise.allSettled([
        ...ids.map((id) => batching.step(actions.readConfig(), id)),
        batching.step(actions.readConfig(), "node-no-such-episode"),
      ]);
      assert.deepEqual(
        results.slice(0, 3).map((r) => r.status === "fulfilled" && r.value.observation!.stepCount),
        [1, 1, 1],
      );
      const failed = results[3];
      assert.ok(failed.status === "rejected" && failed.reason instanceof MLOpsDebugError && failed.reason.code === "NOT_FOUND");
      assert.equal((await rejection(batching.step(actions.readConfig(), ""))).reason, "EPISODE_ID_MISSING");
      assert.equal((await batching.getState(ids[0])).stepCount, 1);
    } finally {
      await batching.end();
      client.close();
    }
  });

  test("bad options are refused", () => {
    const client = new EpisodeClient(address);
    try {
      assert.throws(() => client.batchingSession({ maxBatch: 65 }), RangeError);
      assert.throws(() => client.batchingSession({ sideStreams: -1 }), RangeError);
    } finally {
      client.close();
    }
  });
});

describe("Retries (against a scripted server)", () => {
  test("reads are retried on UNAVAILABLE; calls that change an episode never are", async () => {
    const calls = { ListTasks: 0, Reset: 0 };
    const unavailable = { code: grpc.status.UNAVAILABLE, details: "briefly out of reach" };
    const server = new grpc.Server();
    server.addService(loadEpisodeProtos().mlopsdebug.episode.v1.EpisodeService.service, {
      ListTasks: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
        calls.ListTasks += 1;
        callback(calls.ListTasks <= 2 ? unavailable : null, calls.ListTasks <= 2 ? undefined : { tasks: [] });
      },
      Reset: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => {
        calls.Reset += 1;
        callback(unavailable);
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    const client = new EpisodeClient(`127.0.0.1:${port}`, { timeoutMs: 10_000, retryInitialBackoffMs: 10 });
    const once = new EpisodeClient(`127.0.0.1:${port}`, { timeoutMs: 10_000, maxRetries: 0 });
    try {
      assert.deepEqual(await client.listTasks(), []);
      assert.equal(calls.ListTasks, 3, "two failures, then the answer");
      assert.equal((await rejection(client.reset("easy"))).code, "UNAVAILABLE");
      assert.equal(calls.Reset, 1, "a reset is never repeated");
      calls.ListTasks = 0;
      assert.equal((await rejection(once.listTasks())).code, "UNAVAILABLE");
      assert.equal(calls.ListTasks, 1);
      assert.throws(() => new EpisodeClient(`127.0.0.1:${port}`, { maxRetries: -1 }), RangeError);
    } finally {
      client.close();
      once.close();
      server.forceShutdown();
    }
  });
});

describe("sealed evaluations", () => {
  test("an episode reset with evaluationId gets a withheld seed and a score-only grade", async () => {
    // The operator's call, over a raw stub: the Node client itself only plays.
    const protos = loadEpisodeProtos();
    const operator = new protos.mlopsdebug.episode.v1.EpisodeService(address, grpc.credentials.createInsecure());
    const created = await new Promise<{ evaluationId: string }>((resolve, reject) =>
      operator.CreateEvaluation({ tasks: [{ taskId: "easy", episodes: 2 }] }, (error, response) =>
        error || !response ? reject(error) : resolve(response as { evaluationId: string }),
      ),
    );
    const client = new EpisodeClient(address, { timeoutMs: 30_000 });
    try {
      const reset = await client.reset("easy", { evaluationId: created.evaluationId });
      assert.equal(reset.sealed, true);
      assert.equal(reset.seed, 0);
      const graded = await client.step(reset.episodeId, SUBMISSION);
      const grade = graded.observation!.lastActionResult!.grade!;
      assert.ok(grade.score >= 0 && grade.score <= 1);
      assert.deepEqual(grade.components, []);
      assert.equal(grade.answer, null);
      const session = client.session();
      try {
        const second = await session.reset("", { evaluationId: created.evaluationId });
        assert.equal(second.sealed, true);
        assert.notEqual(second.observation!.runId, reset.observation!.runId, "a new scenario");
        const exhausted = await rejection(session.reset("easy", { evaluationId: created.evaluationId }));
        assert.equal(exhausted.code, "FAILED_PRECONDITION");
        assert.equal(exhausted.reason, "EVALUATION_EXHAUSTED");
      } finally {
        await session.end();
      }
    } finally {
      client.close();
      operator.close();
    }
  });
});

describe("Ownership (episodes belong to the client token or API key that created them)", () => {
  test("another client cannot reach an episode; one with the same token can; ids are per owner", async () => {
    const owner = new EpisodeClient(address, { timeoutMs: 30_000 });
    const stranger = new EpisodeClient(address, { timeoutMs: 30_000 });
    const sameToken = new EpisodeClient(address, { timeoutMs: 30_000, clientToken: owner.clientToken });
    try {
      assert.notEqual(owner.clientToken, stranger.clientToken);
      const { episodeId } = await owner.reset("easy", { seed: 7, episodeId: "ep-node-owned" });
      assert.equal((await rejection(stranger.getState(episodeId))).code, "NOT_FOUND");
      assert.equal((await rejection(stranger.step(episodeId, actions.readConfig()))).code, "NOT_FOUND");
      assert.equal((await rejection(stranger.closeEpisode(episodeId))).code, "NOT_FOUND");
      await stranger.reset("medium", { seed: 8, episodeId: "ep-node-owned" }); // its own, under the same id
      assert.equal((await sameToken.getState(episodeId)).seed, 7);
      assert.equal((await stranger.getState(episodeId)).seed, 8);
      await owner.closeEpisode(episodeId);
      await stranger.closeEpisode(episodeId);
    } finally {
      owner.close();
      stranger.close();
      sameToken.close();
    }
  });

  test("the API key and the token travel on unary calls and on streams", async () => {
    const seen: string[][] = [];
    const record = (metadata: grpc.Metadata) =>
      seen.push([String(metadata.get("authorization")[0] ?? ""), String(metadata.get("x-mlopsdebug-client-token")[0] ?? "")]);
    const server = new grpc.Server();
    server.addService(loadEpisodeProtos().mlopsdebug.episode.v1.EpisodeService.service, {
      ListTasks: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        record(call.metadata);
        callback(null, { tasks: [] });
      },
      Session: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        record(call.metadata);
        call.end();
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    const client = new EpisodeClient(`127.0.0.1:${port}`, {
      timeoutMs: 10_000,
      apiKey: "node-key-0123456789",
      clientToken: "tok-1",
      reconnectMs: 0, // one Session stream: the scripted service ends it at once
    });
    try {
      await client.listTasks();
      const session = client.session();
      await rejection(session.reset("easy"));
      await session.end();
      assert.deepEqual(seen, [
        ["Bearer node-key-0123456789", "tok-1"],
        ["Bearer node-key-0123456789", "tok-1"],
      ]);
      assert.throws(() => new EpisodeClient(`127.0.0.1:${port}`, { apiKey: "has space" }), RangeError);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});

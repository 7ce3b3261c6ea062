/**
 * Sessions across a restart of the service, against a scripted episode service (real gRPC, real
 * sockets) whose episodes live in a map the test keeps (a restart that keeps them, as with a shared
 * store) or drops (a crash): the session reopens its stream, resumes, and never applies a step twice.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as grpc from "@grpc/grpc-js";

import { EpisodeClient, EpisodeLostError, MLOpsDebugError, ResponseLostError } from "../src/index";
import { loadEpisodeProtos } from "../src/protos";

type Episode = { taskId: string; seed: number; stepCount: number };
type Request = { requestId: string; request: string; [kind: string]: unknown };

const READ = { readConfig: {} };

/** An episode service that plays a trivial game; `dropNextStep` applies the next step, then stops the server unanswered. */
class ScriptedService {
  episodes = new Map<string, Episode>();
  dropNextStep = false;
  server: grpc.Server | undefined;
  port = 0;
  resumable: boolean[] = [];

  async start(): Promise<void> {
    const server = new grpc.Server();
    server.addService(loadEpisodeProtos().mlopsdebug.episode.v1.EpisodeService.service, {
      Session: (call: grpc.ServerDuplexStream<Request, unknown>) => this.session(call),
    });
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${this.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    this.server = server;
  }

  /** Stops the server, cutting every stream, and starts a new one on the same port. */
  async restart({ keepEpisodes }: { keepEpisodes: boolean }): Promise<void> {
    this.server?.forceShutdown();
    if (!keepEpisodes) {
      this.episodes = new Map();
    }
    await this.start();
  }

  private session(call: grpc.ServerDuplexStream<Request, unknown>): void {
    this.resumable.push(call.metadata.get("mlopsdebug-session-resumable")[0] === "1");
    call.on("data", (request: Request) => {
      const answer = this.answer(request);
      if (answer === undefined) {
        void this.restart({ keepEpisodes: true }); // the step was applied; its answer never leaves
        return;
      }
      call.write({ requestId: request.requestId, ...answer });
    });
    call.on("end", () => call.end());
    call.on("error", () => undefined);
  }

  private answer(request: Request): object | undefined {
    const notFound = { error: { code: grpc.status.NOT_FOUND, message: "no such episode", details: [] } };
    const body = request[request.request] as { episodeId: string; taskId?: string; seed?: number };
    const episode = body.episodeId === undefined ? undefined : this.episodes.get(body.episodeId);
    const state = () => ({ episodeId: body.episodeId, ...episode });
    switch (request.request) {
      case "reset":
        if (episode !== undefined) {
          return { error: { code: grpc.status.ALREADY_EXISTS, message: "exists", details: [] } };
        }
        this.episodes.set(body.episodeId, { taskId: body.taskId ?? "", seed: body.seed ?? 0, stepCount: 0 });
        return { reset: { episodeId: body.episodeId, seed: body.seed ?? 0, observation: { stepCount: 0 } } };
      case "step":
        if (episode === undefined) {
          return notFound;
        }
        episode.stepCount += 1;
        if (this.dropNextStep) {
          this.dropNextStep = false;
          return undefined;
        }
        return { step: { observation: { stepCount: episode.stepCount } } };
      case "stepBatch":
        return {
          stepBatch: {
            results: (body as unknown as { steps: { episodeId: string }[] }).steps.map(({ episodeId }) => {
              const stepped = this.episodes.get(episodeId);
              if (stepped === undefined) {
                return notFound;
              }
              stepped.stepCount += 1;
              return { step: { observation: { stepCount: stepped.stepCount } } };
            }),
          },
        };
      case "getState":
        return episode === undefined ? notFound : { getState: { state: state() } };
      case "close":
        if (episode === undefined) {
          return notFound;
        }
        this.episodes.delete(body.episodeId);
        return { close: { state: state() } };
      default:
        return { error: { code: grpc.status.INVALID_ARGUMENT, message: "unsupported here", details: [] } };
    }
  }
}

async function withService(run: (service: ScriptedService, client: EpisodeClient) => Promise<void>): Promise<void> {
  const service = new ScriptedService();
  await service.start();
  const client = new EpisodeClient(`127.0.0.1:${service.port}`, {
    timeoutMs: 20_000,
    retryInitialBackoffMs: 20,
    retryMaxBackoffMs: 200,
  });
  try {
    await run(service, client);
  } finally {
    client.close();
    service.server?.forceShutdown();
  }
}

describe("Sessions across a restart (scripted service)", () => {
  test("a session resumes its episode when the restart kept it, and closes it at the end", () =>
    withService(async (service, client) => {
      const session = client.session();
      const { episodeId } = await session.reset("easy", { seed: 3 });
      assert.match(episodeId, /^ep-[0-9a-f]{24}$/, "the client draws the id, so that a reset can be re-sent");
      assert.equal((await session.step(READ)).observation?.stepCount, 1);
      await service.restart({ keepEpisodes: true });
      assert.equal((await session.step(READ)).observation?.stepCount, 2);
      assert.ok(session.reconnects >= 1 && !session.closed);
      await session.end();
      assert.equal(service.episodes.size, 0, "end() closed the episode");
      assert.ok(service.resumable.every(Boolean), "every stream declared itself resumable");
    }));

  test("an episode the restart lost rejects with EpisodeLostError (NOT_FOUND), and play goes on", () =>
    withService(async (service, client) => {
      const session = client.session();
      await session.reset("easy", { seed: 3 });
      await session.step(READ);
      await service.restart({ keepEpisodes: false });
      const lost = await session.step(READ).then(
        () => assert.fail("the step succeeded"),
        (error: unknown) => error,
      );
      assert.ok(lost instanceof EpisodeLostError && lost instanceof MLOpsDebugError);
      assert.equal(lost.code, "NOT_FOUND");
      assert.equal(lost.reason, "EPISODE_LOST");
      await session.reset("easy", { seed: 3 });
      assert.equal((await session.step(READ)).observation?.stepCount, 1);
      await session.end();
    }));

  test("a step applied whose answer was lost is not sent again: ResponseLostError", () =>
    withService(async (service, client) => {
      const session = client.session();
      const { episodeId } = await session.reset("easy");
      await session.step(READ);
      service.dropNextStep = true;
      const lost = await session.step(READ).then(
        () => assert.fail("the step succeeded"),
        (error: unknown) => error,
      );
      assert.ok(lost instanceof ResponseLostError);
      assert.equal(lost.code, "ABORTED");
      assert.equal(lost.applied, true);
      assert.equal(service.episodes.get(episodeId)?.stepCount, 2, "applied once");
      assert.equal((await session.step(READ)).observation?.stepCount, 3);
      await session.end();
    }));

  test("a batching session's agents all resume after a restart in the middle of their play", () =>
    withService(async (service, client) => {
      const session = client.batchingSession();
      const ids = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(async (seed) => (await session.reset("easy", { seed })).episodeId));
      const first = await Promise.all(ids.map((id) => session.step(READ, id)));
      assert.deepEqual(first.map((s) => s.observation?.stepCount), Array(8).fill(1));
      await service.restart({ keepEpisodes: true });
      const second = await Promise.all(ids.map((id) => session.step(READ, id)));
      assert.deepEqual(second.map((s) => s.observation?.stepCount), Array(8).fill(2));
      assert.ok(!session.closed);
      await session.end();
      assert.equal(service.episodes.size, 0, "end() closed every episode");
    }));
});

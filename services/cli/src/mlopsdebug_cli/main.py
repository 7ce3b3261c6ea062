"""Entry point of the `mlopsdebug` command."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading

from mlopsdebug_cli import conformance
from mlopsdebug_cli.cluster import DEFAULT_PORTS, SERVICES, ClusterOptions, LocalCluster, free_port
from mlopsdebug_cli.supervise import RestartPolicy
from mlopsdebug_common import health as health_probe

# Each service's module with a main() that reads its configuration from the environment.
SERVICE_MODULES = {
    "generator": "mlopsdebug_generator.server",
    "grader": "mlopsdebug_grader.server",
    "episode": "mlopsdebug_episode.server",
    "gateway": "mlopsdebug_gateway.server",
}


def cmd_serve(args: argparse.Namespace) -> int:
    """`mlopsdebug serve SERVICE`: runs one service in this process until a signal."""
    importlib.import_module(SERVICE_MODULES[args.service]).main()
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    """`mlopsdebug up`: runs the local cluster, supervised, until Ctrl-C."""
    ports = {name: (free_port() if args.ephemeral else DEFAULT_PORTS[name]) for name in SERVICES}
    try:
        options = ClusterOptions(
            ports=ports,
            host=args.host,
            salt=args.salt,
            public=args.public,
            reveal_answers=args.reveal_answers,
            max_episodes=args.max_episodes,
            idle_timeout_s=args.idle_timeout_s,
            log_dir=args.log_dir,
            replicas={"generator": args.generators, "grader": args.graders},
            restart=RestartPolicy(max_crashes_in_a_row=args.restart_limit),
            episodes=args.episodes,
            redis_url=args.redis_url,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    cluster = LocalCluster(options)
    status = 0
    try:
        cluster.start()
        print("mlops-debug-env cluster is up (Ctrl-C to stop):", flush=True)
        kinds = {"gateway": "http+ws", "redis": "redis", "envoy": "grpc"}
        if options.scaled:  # the episode address everybody uses: Envoy's
            print(f"  {'episode':<12} {'grpc':<8} {cluster.address('episode')}", flush=True)
        for service in cluster.start_order:
            kind = kinds.get(service, "grpc")
            for name, port in zip(cluster.process_names(service), cluster.replica_ports[service], strict=True):
                print(f"  {name:<12} {kind:<8} {args.host}:{port}", flush=True)
        if options.scaled:
            print(
                f"episode: Envoy on {cluster.address('episode')}, ring hash on x-episode-id over"
                f" {options.episodes} replicas; admin 127.0.0.1:{cluster.envoy_admin_port};"
                f" access log (episode id, replica, per call): {cluster.envoy_access_log}",
                flush=True,
            )
        if cluster.redis_url is not None:
            print(f"episode state in Redis: {cluster.redis_url}", flush=True)
        print(f"  mutual TLS certificates (generator and grader serve only `episode`): {cluster.certs_dir}", flush=True)
        print(f"salt: {_salt_origin(args)}", flush=True)
        supervisor = cluster.supervisor
        while not stop.wait(0.5):
            if supervisor is not None and supervisor.gave_up.is_set():
                print(f"stopping the cluster: {supervisor.failure}", file=sys.stderr, flush=True)
                status = 1
                break
    finally:
        cluster.stop()
        print("cluster stopped", flush=True)
    return status


def _salt_origin(args: argparse.Namespace) -> str:
    """Where the cluster's salt came from; never the salt itself (an agent may read this terminal's log)."""
    if args.public:
        return "none (--public: answers are computable offline from the public code)"
    if args.salt_from_env:
        return "from MLOPSDEBUG_SALT"
    if args.salt is not None:
        return "from --salt"
    return "fresh and random, kept private (pass --salt or MLOPSDEBUG_SALT to choose one)"


def _salt_default(args: argparse.Namespace) -> None:
    """--salt defaults to MLOPSDEBUG_SALT (and --public to MLOPSDEBUG_SALT_PUBLIC): the operator passes
    one either way. Not for `eval --address`, whose cluster has its own."""
    args.salt_from_env = False
    if getattr(args, "address", None):
        return
    if args.salt is None and os.environ.get("MLOPSDEBUG_SALT"):
        args.salt = os.environ["MLOPSDEBUG_SALT"]
        args.salt_from_env = True
    if not args.public and os.environ.get("MLOPSDEBUG_SALT_PUBLIC", "").strip().lower() in {"1", "true", "yes", "on"}:
        args.public = True


def cmd_certs(args: argparse.Namespace) -> int:
    """`mlopsdebug certs`: writes a CA and a certificate per service for mutual TLS."""
    from mlopsdebug_common.certs import generate_cluster_certs  # noqa: PLC0415

    made = generate_cluster_certs(args.directory, extra_dns_names=args.dns)
    print(f"wrote {made.ca} and a certificate and key for {', '.join(made.certs)} in {made.directory}")
    print(f"serve with MLOPSDEBUG_MTLS_DIR={made.directory} on generator, grader and episode")
    return 0


def cmd_play(args: argparse.Namespace) -> int:
    """`mlopsdebug play`: one scripted episode per task."""
    from mlopsdebug_cli.play import play  # noqa: PLC0415 - keeps `serve` start-up lean

    return play(args)


def cmd_eval(args: argparse.Namespace) -> int:
    """`mlopsdebug eval`: evaluates agents (training or sealed mode)."""
    if args.mode == "sealed":
        from mlopsdebug_cli.sealed import evaluate_sealed  # noqa: PLC0415

        return evaluate_sealed(args)
    from mlopsdebug_cli.eval_run import evaluate  # noqa: PLC0415

    return evaluate(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="mlopsdebug", description="mlops-debug-env: services, cluster, play, eval")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run one service (configured by MLOPSDEBUG_* environment variables)")
    serve.add_argument("service", choices=sorted(SERVICE_MODULES))
    serve.set_defaults(func=cmd_serve)

    up = sub.add_parser("up", help="start the local cluster as separate processes and wait")
    up.add_argument("--host", default="127.0.0.1", help="address to bind and advertise (default 127.0.0.1)")
    up.add_argument("--ephemeral", action="store_true", help="use free ports instead of 50051-50053 and 7860")
    up.add_argument(
        "--salt",
        default=None,
        help="deployment salt shared by every generator (default: MLOPSDEBUG_SALT, else a fresh random one)",
    )
    up.add_argument(
        "--public",
        action="store_true",
        help="no salt: a public, reproducible cluster whose answers anyone can compute offline (training, demos)",
    )
    up.add_argument("--reveal-answers", action="store_true", help="grades reveal the answer after an episode")
    up.add_argument("--max-episodes", type=int, default=10_000)
    up.add_argument("--idle-timeout-s", type=float, default=900.0)
    up.add_argument("--log-dir", default=None, help="write each service's log to DIR/<service>.log")
    up.add_argument("--generators", type=int, default=1, help="generator processes (stateless; default 1)")
    up.add_argument("--graders", type=int, default=1, help="grader processes (stateless; default 1)")
    up.add_argument(
        "--episodes",
        type=int,
        default=1,
        help="episode processes (default 1); more than one adds Redis for their episodes and Envoy in front of"
        " them on the episode port, ring-hashing on the x-episode-id header",
    )
    up.add_argument(
        "--redis-url",
        default=None,
        help="keep episodes in this Redis (redis://host:port/db) instead of one the cluster starts",
    )
    up.add_argument(
        "--restart-limit",
        type=int,
        default=RestartPolicy().max_crashes_in_a_row,
        help="crashes in a row after which a service is given up and the cluster stops (default 10; 0: never"
        " restart, stop at the first exit)",
    )
    up.set_defaults(func=cmd_up)

    health = sub.add_parser("health", help="exit 0 if a service is healthy (for container health checks)")
    # The same probe as each service image's `mlopsdebug-health` (the images carry no CLI).
    health_probe.add_arguments(health)
    health.set_defaults(func=health_probe.check)

    certs = sub.add_parser(
        "certs", help="make a private CA and a certificate per service identity, for MLOPSDEBUG_MTLS_DIR"
    )
    certs.add_argument("directory", help="where to write ca.crt and <identity>.crt/.key (created, mode 0700)")
    certs.add_argument("--dns", action="append", default=[], metavar="NAME",
                       help="an extra DNS name in every certificate (repeatable)")
    certs.set_defaults(func=cmd_certs)

    play = sub.add_parser("play", help="play one scripted episode per task, printing [START]/[STEP]/[END]")
    play.add_argument("--address", default=None, help="episode service address; default: start a local cluster")
    play.add_argument("--tasks", default="easy,medium,hard")
    play.add_argument("--seed", type=int, default=0)
    play.add_argument(
        "--agent", default="heuristic", help="agent to play: random, heuristic, llm, or module:Class (default heuristic)"
    )
    play.set_defaults(func=cmd_play)

    evaluate = sub.add_parser(
        "eval", help="score agents on tasks x seeds in parallel: JSON lines per episode, resumable, summary tables"
    )
    evaluate.add_argument(
        "--agent",
        default="random,heuristic",
        help="agent(s) to evaluate, comma-separated: random, heuristic, llm, checks-only, prior, or module:Class"
        " (default: the floor and the rule-based baseline, random,heuristic)",
    )
    evaluate.add_argument("--tasks", default="easy,medium,hard", help="comma-separated task ids (default all three)")
    evaluate.add_argument("--seeds", default="0-99", help="seeds, e.g. 0-99 or 0-9,20-29 (default 0-99)")
    evaluate.add_argument(
        "--split",
        choices=("all", "train", "heldout"),
        default="all",
        help="which of each task's faults to draw: all (default), train (not held out) or heldout, to measure"
        " generalisation to faults an agent never trained on",
    )
    evaluate.add_argument("--concurrency", type=int, default=32, help="episodes played at once (default 32)")
    evaluate.add_argument(
        "--address", default=None, help="episode service host:port; default: start a local cluster and stop it after"
    )
    evaluate.add_argument(
        "--output", "-o", default="mlopsdebug-eval.jsonl", help="JSON-lines file of episodes, resumed if it exists"
    )
    evaluate.add_argument("--fresh", action="store_true", help="discard the output file's episodes instead of resuming")
    evaluate.add_argument(
        "--salt",
        default=None,
        help="salt of the cluster eval starts (default: MLOPSDEBUG_SALT, else a fresh one, private until every"
        " episode is graded, then published in OUTPUT.salt.json); reproduces a finished run",
    )
    evaluate.add_argument(
        "--public", action="store_true", help="run eval's cluster unsalted: anyone can compute its answers offline"
    )
    evaluate.add_argument("--summary-md", default=None, help="also write the summary tables as Markdown to this path")
    evaluate.add_argument("--chart", default=None, help="also draw score distributions per task and agent to this PNG")
    evaluate.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    evaluate.add_argument(
        "--lines", default=None, help="also append each new episode's [START]/[STEP]/[END] lines to this file"
    )
    evaluate.add_argument(
        "--mode",
        choices=("training", "sealed"),
        default="training",
        help="training (default): the runner picks the seeds, grades are detailed, runs resume; sealed: one sealed"
        " evaluation per agent, the service draws the scenarios and agents see only scores (see README)",
    )
    evaluate.add_argument(
        "--episodes", type=int, default=None, help="sealed mode: episodes per task (default: as many as --seeds)"
    )
    evaluate.add_argument(
        "--train-seeds",
        default=None,
        help="seeds the blind agents (checks-only, prior) learn on, disjoint from --seeds (default 10000-10299)",
    )
    evaluate.add_argument(
        "--train-address",
        default=None,
        help="episode service the blind agents learn on; it must reveal answers (default: the evaluated one)",
    )
    evaluate.add_argument(
        "--train-cache", default=None, help="directory of learned blind tables (default ~/.cache/mlopsdebug/blind)"
    )
    evaluate.set_defaults(func=cmd_eval)

    conformance.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The `mlopsdebug` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("up", "eval"):
        _salt_default(args)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

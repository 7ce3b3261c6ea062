"""The `mlopsdebug` command line: serve one service, start the local cluster, play, evaluate."""

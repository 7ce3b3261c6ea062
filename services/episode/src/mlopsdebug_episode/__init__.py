"""The episode service: owns episodes (reset, step, state, close, the Session stream) and sealed evaluations.

`core` is the pure episode logic (no grpc): EpisodeManager applies actions, computes step rewards and asks
a Grader for the terminal score; `actions` validates actions; `evaluation` keeps sealed evaluations;
`remote` holds the gRPC clients of generator and grader; `server` the thin servicer; `config` its settings.
"""

"""Pure code shared by the services: the task and fault catalogs, the answer-key schema and its sealing.

Nothing here imports grpc; the transport helpers live in `mlopsdebug_common.rpc`.
"""

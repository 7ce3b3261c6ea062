"""Pure code shared by the services: the task and fault catalogs, the answer-key schema and its sealing.

Nothing here imports grpc but the transport helpers: `mlopsdebug_common.rpc` and the health probe
`mlopsdebug_common.health`.
"""

"""The OpenEnv-compatible gateway: HTTP and WebSocket on port 7860, forwarding to the episode service.

Entry points: `mlopsdebug_gateway.server.main()` (configured by MLOPSDEBUG_* variables, see config.py),
`mlopsdebug_gateway.app.create_app(config)` and `mlopsdebug_gateway.server.start_in_thread(config)`.
"""

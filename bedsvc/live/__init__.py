"""Live availability for citizens: WebSocket (in live processes) and Server-Sent Events (on the
HTTP workers), fed by each process's change feed.

`hub` fans changes out once per tick, by filter `groups`, to `subscribers`, with `frames`
spliced from the public near-cache's fragments; `ticker` says when. `websocket` and `process`
are the live processes' server, `sse` the event stream, `discovery` tells clients where the
WebSocket is, `messages` defines what they carry.
"""

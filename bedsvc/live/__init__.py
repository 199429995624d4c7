"""Live availability for citizens: WebSocket and Server-Sent Events, fed by the change feed.

`hub` holds the subscribers and fans changes out; `websocket` and `sse` are the two transports;
`messages` defines what they carry.
"""

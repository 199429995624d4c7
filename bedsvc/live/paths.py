"""Where the live streams are served: the WebSocket on the live processes, the event stream on
the HTTP workers. Apart from the routes, so that a live process knows its path without
loading the HTTP workers' framework."""

LIVE_PATH = "/api/v1/live"
EVENTS_PATH = "/api/v1/live/events"

"""For the health office: occupancy summaries, stale reporters, history, exports and alerts."""

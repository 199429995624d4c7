"""For operators: health, readiness, metrics and `bedsvc check`."""

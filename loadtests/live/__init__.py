"""Fan-out load test of the live stream: `python -m loadtests.live --help`."""

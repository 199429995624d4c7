"""From acknowledgements and what each subscriber received to latency, losses and order."""

from __future__ import annotations

import msgspec

from loadtests.live.client import Received


class Ack(msgspec.Struct, array_like=True):
    version: int
    hospital: str
    at: float
    sent: float


class Delivery(msgspec.Struct):
    subscribers: int
    reports: int
    expected: int
    delivered: int
    lost: int
    superseded: int
    resynced: int
    later_snapshots: int
    out_of_order: int
    closed_by_server: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    min_ms: float
    from_request_p50_ms: float
    from_request_p99_ms: float
    from_request_max_ms: float


def percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def delivery(acks: list[Ack], received: list[Received]) -> Delivery:
    """Every subscriber should see every acknowledged version (the stream is unfiltered).

    A version a subscriber did not get is `resynced` when a later snapshot covered it (the
    worker reloaded), `superseded` when it got a later version of the same hospital (latest
    wins: allowed, it holds the newer state), otherwise `lost`."""
    latencies: list[float] = []
    from_request: list[float] = []
    lost = superseded = resynced = out_of_order = snapshots = 0
    hospital_of = {ack.version: ack.hospital for ack in acks}
    for result in received:
        arrived: dict[int, float] = {}
        newest: dict[str, int] = {}
        covered = previous = result.snapshot
        for version, arrival in zip(result.versions, result.times, strict=True):
            if version < 0:  # a later snapshot
                snapshots += 1
                covered = previous = max(previous, -version)
                continue
            if version <= previous:
                out_of_order += 1
            previous = max(previous, version)
            arrived[version] = arrival
            code = hospital_of.get(version)
            if code is not None:
                newest[code] = max(newest.get(code, 0), version)
        for ack in acks:
            if ack.version <= result.snapshot:
                continue
            at = arrived.get(ack.version)
            if at is not None:
                latencies.append(at - ack.at)
                from_request.append(at - ack.sent)
            elif newest.get(ack.hospital, 0) > ack.version:
                superseded += 1
            elif ack.version <= covered:
                resynced += 1
            else:
                lost += 1
    latencies.sort()
    from_request.sort()
    return Delivery(
        subscribers=len(received),
        reports=len(acks),
        expected=len(latencies) + lost + superseded + resynced,
        delivered=len(latencies),
        lost=lost,
        superseded=superseded,
        resynced=resynced,
        later_snapshots=snapshots,
        out_of_order=out_of_order,
        closed_by_server=sum(r.close_code is not None for r in received),
        p50_ms=ms(percentile(latencies, 0.50)),
        p90_ms=ms(percentile(latencies, 0.90)),
        p99_ms=ms(percentile(latencies, 0.99)),
        max_ms=ms(latencies[-1] if latencies else float("nan")),
        min_ms=ms(latencies[0] if latencies else float("nan")),
        from_request_p50_ms=ms(percentile(from_request, 0.50)),
        from_request_p99_ms=ms(percentile(from_request, 0.99)),
        from_request_max_ms=ms(from_request[-1] if from_request else float("nan")),
    )


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)

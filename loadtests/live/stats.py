"""From acknowledgements and what each subscriber received to latency, losses and order."""

from __future__ import annotations

from bisect import bisect_left

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
    coalesced: int
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
    """Every subscriber should see every acknowledged report (the stream is unfiltered).

    A report is delivered by the first `changes` frame of its version or later that carries its
    hospital (frames are coalesced: one may carry several reports of the hospital, the latest
    state; `coalesced` counts reports delivered by a frame of a later version). Not delivered,
    it is `resynced` when a later snapshot covered it (the process reloaded), otherwise `lost`.
    `out_of_order`: a frame whose version is lower than the one before it."""
    latencies: list[float] = []
    from_request: list[float] = []
    lost = coalesced = resynced = out_of_order = snapshots = 0
    for result in received:
        by_hospital: dict[str, tuple[list[int], list[float]]] = {}
        covered = previous = result.snapshot
        frames = zip(result.versions, result.times, result.codes or [], strict=False)
        for version, arrival, codes in frames:
            if version < 0:  # a later snapshot
                snapshots += 1
                covered = previous = max(previous, -version)
                continue
            if version < previous:
                out_of_order += 1
            previous = max(previous, version)
            for code in codes:
                versions, times = by_hospital.setdefault(code, ([], []))
                versions.append(version)
                times.append(arrival)
        for ack in acks:
            if ack.version <= result.snapshot:
                continue
            versions, times = by_hospital.get(ack.hospital, ([], []))
            index = bisect_left(versions, ack.version)
            if index < len(versions):
                latencies.append(times[index] - ack.at)
                from_request.append(times[index] - ack.sent)
                coalesced += versions[index] > ack.version
            elif ack.version <= covered:
                resynced += 1
            else:
                lost += 1
    latencies.sort()
    from_request.sort()
    return Delivery(
        subscribers=len(received),
        reports=len(acks),
        expected=len(latencies) + lost + resynced,
        delivered=len(latencies),
        lost=lost,
        coalesced=coalesced,
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

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
    """Every subscriber should see every acknowledged report (the stream is unfiltered)."""
    return delivery_by_filter([(acks, received)])


def delivery_by_filter(groups: list[tuple[list[Ack], list[Received]]]) -> Delivery:
    """Each group's subscribers (one filter) should see each of the group's reports (those of
    the hospitals the filter lists).

    An ack is a hospital at its own version (what the push answered). It is delivered by the
    first frame after the subscriber's first snapshot that carries the hospital at that version
    or later (frames are coalesced: one may carry several reports of the hospital, the latest
    state; `coalesced` counts reports delivered by a later version). Reports are pushed after
    every subscriber holds its first snapshot. One first covered by a later snapshot (the
    process reloaded)
    is `resynced`; one never covered is `lost`. `out_of_order`: a frame whose global version is
    lower than the one before it, or that carries a hospital at a lower version than before."""
    latencies: list[float] = []
    from_request: list[float] = []
    lost = coalesced = resynced = out_of_order = snapshots = subscribers = reports = 0
    closed = 0
    for acks, received in groups:
        subscribers += len(received)
        reports += len(acks)
        closed += sum(r.close_code is not None for r in received)
        for result in received:
            # Per hospital: (its version, arrival, by a snapshot) of every later frame carrying it.
            seen: dict[str, list[tuple[int, float, bool]]] = {}
            frames = zip(
                result.snapshots,
                result.versions,
                result.times,
                result.codes,
                result.hospital_versions,
                strict=True,
            )
            previous = -1
            for index, (snapshot, version, arrival, codes, own) in enumerate(frames):
                if index == 0:
                    previous = version
                    continue
                snapshots += snapshot
                out_of_order += not snapshot and version < previous
                previous = max(previous, version)
                for code, hospital_version in zip(codes, own, strict=True):
                    history = seen.setdefault(code, [])
                    if not snapshot and history and hospital_version < history[-1][0]:
                        out_of_order += 1
                    history.append((hospital_version, arrival, snapshot))
            for ack in acks:
                history = seen.get(ack.hospital, [])
                first = next((h for h in history if h[0] >= ack.version), None)
                if first is None:
                    lost += 1
                elif first[2]:
                    resynced += 1
                else:
                    latencies.append(first[1] - ack.at)
                    from_request.append(first[1] - ack.sent)
                    coalesced += first[0] > ack.version
    latencies.sort()
    from_request.sort()
    return Delivery(
        subscribers=subscribers,
        reports=reports,
        expected=len(latencies) + lost + resynced,
        delivered=len(latencies),
        lost=lost,
        coalesced=coalesced,
        resynced=resynced,
        later_snapshots=snapshots,
        out_of_order=out_of_order,
        closed_by_server=closed,
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

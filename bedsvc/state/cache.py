"""Redis: the shared cache of current availability and the stream of changes.

Redis is never the record. Every write here happens after PostgreSQL committed, and every
failure here is survivable: the reconciler repairs the cache from PostgreSQL.

Keys, under one prefix:
- `hospitals`: code -> encoded `HospitalState` of every listed hospital;
- `hospital_versions`: code -> version of every hospital the cache knows, listed or not;
- `version`: the global version, the sum of `hospital_versions`; absent while the cache is
  empty, and then nothing is written until a rebuild fills it from PostgreSQL;
- `changes`: the stream of changes, one entry per hospital state the cache advanced to
  (`p` global version after it, `c` code, `v` hospital version, `s` encoded state or empty
  when no longer listed), and one per rebuild (`p`, `r`); trimmed to a bounded length.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import NamedTuple, cast

import msgspec
import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from bedsvc.store.states import HospitalState

_encoder = msgspec.json.Encoder()
_state_decoder = msgspec.json.Decoder(HospitalState)

# The position before the first entry of a stream.
STREAM_START = b"0-0"


class Change(msgspec.Struct, frozen=True):
    """One entry of the change stream: a hospital's new state (None: no longer listed)."""

    position: int
    code: str
    version: int
    state: HospitalState | None


class HospitalAt(NamedTuple):
    """A hospital's state at a version PostgreSQL committed, for the cache (None: no longer
    listed)."""

    code: str
    version: int
    state: HospitalState | None


class Rebuilt(msgspec.Struct, frozen=True):
    """The cache was filled from PostgreSQL: whoever follows the stream reloads."""

    position: int


class CacheSnapshot(msgspec.Struct, frozen=True):
    """What the cache holds, read atomically with the stream position it corresponds to.
    `position` is None when the cache is empty."""

    position: int | None
    stream_id: bytes
    states: list[HospitalState]
    versions: dict[str, int]


def _lua(name: str) -> str:
    return resources.files("bedsvc.state.lua").joinpath(name).read_text(encoding="utf-8")


def decode_entry(fields: dict[bytes, bytes]) -> Change | Rebuilt:
    position = int(fields[b"p"])
    if b"r" in fields:
        return Rebuilt(position=position)
    raw = fields[b"s"]
    return Change(
        position=position,
        code=fields[b"c"].decode(),
        version=int(fields[b"v"]),
        state=_state_decoder.decode(raw) if raw else None,
    )


class AvailabilityCache:
    """The cache of every listed hospital's state and the change stream, under one prefix."""

    def __init__(self, client: aioredis.Redis, prefix: str, stream_length: int) -> None:
        self.client = client
        self.docs_key = f"{prefix}:hospitals"
        self.versions_key = f"{prefix}:hospital_versions"
        self.version_key = f"{prefix}:version"
        self.stream_key = f"{prefix}:changes"
        self.lock_key = f"{prefix}:rebuild_lock"
        self.stream_length = stream_length
        self._write: AsyncScript = client.register_script(_lua("write_hospitals.lua"))
        self._rebuild: AsyncScript = client.register_script(_lua("rebuild.lua"))

    @property
    def keys(self) -> list[str]:
        return [self.docs_key, self.versions_key, self.version_key, self.stream_key]

    async def write_hospitals(self, hospitals: Sequence[HospitalAt]) -> list[int]:
        """Writes each in turn, in one round trip. Per hospital: the global version after its
        write; 0 when the cache had this version already, -1 when the cache is empty (it needs
        a rebuild)."""
        args: list[bytes | str | int] = [self.stream_length]
        for code, version, state in hospitals:
            args += [code, version, b"" if state is None else _encoder.encode(state)]
        positions: list[int] = await self._write(keys=self.keys, args=args)
        return positions

    async def rebuild(self, versions: dict[str, int], states: Sequence[HospitalState]) -> int:
        """Fills the cache with every hospital's version and the listed ones' states."""
        encoded = {state.code: _encoder.encode(state) for state in states}
        args: list[bytes | str | int] = [self.stream_length]
        for code, version in versions.items():
            args += [code, version, encoded.get(code, b"")]
        position: int = await self._rebuild(keys=self.keys, args=args)
        return position

    async def version(self) -> int | None:
        raw = await self.client.get(self.version_key)
        return None if raw is None else int(raw)

    async def versions(self) -> dict[str, int]:
        raw = cast(dict[bytes, bytes], await self.client.hgetall(self.versions_key))
        return {code.decode(): int(version) for code, version in raw.items()}

    async def snapshot(self) -> CacheSnapshot:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.get(self.version_key)
            pipe.hvals(self.docs_key)
            pipe.hgetall(self.versions_key)
            pipe.xrevrange(self.stream_key, count=1)
            position, docs, versions, last = await pipe.execute()
        versions = cast(dict[bytes, bytes], versions)
        return CacheSnapshot(
            position=None if position is None else int(position),
            stream_id=last[0][0] if last else STREAM_START,
            states=[_state_decoder.decode(doc) for doc in docs],
            versions={code.decode(): int(version) for code, version in versions.items()},
        )

    async def hospital(self, code: str) -> HospitalState | None:
        raw = await self.client.hget(self.docs_key, code)
        return None if raw is None else _state_decoder.decode(raw)

    async def server_id(self) -> str:
        """The run id of the Redis server that answers: another one after a failover (the
        promoted replica) or a restart."""
        info = await self.client.info("server")
        return str(info["run_id"])

    async def try_rebuild_lock(self, seconds: int) -> bool:
        return bool(await self.client.set(self.lock_key, "1", nx=True, ex=seconds))

    async def release_rebuild_lock(self) -> None:
        await self.client.delete(self.lock_key)

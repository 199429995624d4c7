"""Redis: the shared cache of current availability and the channel that announces changes.

Redis is never the record. Every write here happens after PostgreSQL committed, and every
failure here is survivable: the reconciler rebuilds the cache from PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

import msgspec
import redis.asyncio as aioredis
from redis.commands.core import AsyncScript

from bedsvc.availability import HospitalState


class HospitalChanged(msgspec.Struct, frozen=True, tag="hospital", tag_field="type"):
    """A hospital's state after the change with this version."""

    version: int
    hospital: HospitalState


class HospitalRemoved(msgspec.Struct, frozen=True, tag="removed", tag_field="type"):
    """A hospital no longer listed (deactivated) as of this version."""

    version: int
    code: str


class CacheRebuilt(msgspec.Struct, frozen=True, tag="rebuilt", tag_field="type"):
    """The whole cache was replaced from PostgreSQL at this version: reload everything."""

    version: int


ChangeMessage = HospitalChanged | HospitalRemoved | CacheRebuilt

_encoder = msgspec.json.Encoder()
_state_decoder = msgspec.json.Decoder(HospitalState)
change_decoder = msgspec.json.Decoder(ChangeMessage)


def _lua(name: str) -> str:
    return resources.files("bedsvc.lua").joinpath(name).read_text(encoding="utf-8")


class AvailabilityCache:
    """The cache of every listed hospital's state, keyed under one prefix."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.docs_key = f"{prefix}:hospitals"
        self.versions_key = f"{prefix}:hospital_versions"
        self.version_key = f"{prefix}:version"
        self.seen_key = f"{prefix}:versions_seen"
        self.lock_key = f"{prefix}:rebuild_lock"
        self.channel = f"{prefix}:changes"
        self._write: AsyncScript = client.register_script(_lua("write_hospital.lua"))
        self._rebuild: AsyncScript = client.register_script(_lua("rebuild.lua"))

    @property
    def keys(self) -> list[str]:
        return [self.docs_key, self.versions_key, self.version_key, self.seen_key]

    async def write_hospital(self, state: HospitalState) -> None:
        message = _encoder.encode(HospitalChanged(version=state.version, hospital=state))
        args: list[bytes | str | int] = [
            state.code,
            state.version,
            _encoder.encode(state),
            self.channel,
            message,
        ]
        await self._write(keys=self.keys, args=args)

    async def remove_hospital(self, code: str, version: int) -> None:
        message = _encoder.encode(HospitalRemoved(version=version, code=code))
        await self._write(keys=self.keys, args=[code, version, "", self.channel, message])

    async def rebuild(self, version: int, states: Sequence[HospitalState]) -> None:
        args: list[bytes | str | int] = [
            version,
            self.channel,
            _encoder.encode(CacheRebuilt(version=version)),
        ]
        for state in states:
            args += [state.code, _encoder.encode(state)]
        await self._rebuild(keys=self.keys, args=args)

    async def version(self) -> int | None:
        raw = await self.client.get(self.version_key)
        return None if raw is None else int(raw)

    async def hospitals(self) -> list[HospitalState]:
        raw = await self.client.hvals(self.docs_key)
        return [_state_decoder.decode(doc) for doc in raw]

    async def hospital(self, code: str) -> HospitalState | None:
        raw = await self.client.hget(self.docs_key, code)
        return None if raw is None else _state_decoder.decode(raw)

    async def try_rebuild_lock(self, seconds: int = 30) -> bool:
        return bool(await self.client.set(self.lock_key, "1", nx=True, ex=seconds))

    async def release_rebuild_lock(self) -> None:
        await self.client.delete(self.lock_key)

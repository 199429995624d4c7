"""A database of the run's own, with hospitals and their keys, made through bedsvc's code."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis.asyncio as aioredis

from bedsvc.access.actor import OPERATOR
from bedsvc.access.keys import issue_key
from bedsvc.admin.schemas import HospitalIn
from bedsvc.admin.service import save_hospital
from bedsvc.store import connect_pool, load_queries, migrate


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


async def create_database(server_url: str) -> str:
    name = f"bedsvc_live_load_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(server_url, name)
    await migrate(url)
    return url


async def drop_database(server_url: str, url: str, redis_url: str, prefix: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path[1:]}" WITH (FORCE)')
    finally:
        await admin.close()
    redis = aioredis.Redis.from_url(redis_url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def register_hospitals(url: str, count: int) -> dict[str, str]:
    """`count` hospitals of one region, each with a push key: {code: key}."""
    queries = load_queries()
    pool = await connect_pool(url, 1, 2)
    keys = {}
    try:
        for n in range(count):
            hospital = HospitalIn(
                code=f"3274{n:03d}",
                name=f"RS Uji Beban {n}",
                region_code="3274",
                kind="RSUD",
                address=f"Jl. Kesambi No. {n}, Kota Cirebon",
                phone="0231-200000",
                lat=-6.72 + n / 1000,
                lon=108.55 + n / 1000,
            )
            await save_hospital(pool, queries, None, hospital, OPERATOR)
            async with pool.acquire() as conn:
                keys[hospital.code] = (
                    await issue_key(conn, queries, "hospital", hospital.code)
                ).key
    finally:
        await pool.close()
    return keys

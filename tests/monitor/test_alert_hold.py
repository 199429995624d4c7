"""Hysteresis: a rule fires once its condition held BEDSVC_ALERT_HOLD_SECONDS and resolves once
it has been clear that long, so a flapping class makes one alert, not one per flap."""

from __future__ import annotations

import asyncio

from bedsvc.monitor.alerts import Transitions, evaluate
from bedsvc.services import Services
from bedsvc.settings import Settings
from tests.support import Factory
from tests.support.alerts import alert_settings, icu_region, rows, set_icu

HOLD = 1.0


async def test_a_flapping_class_fires_once_after_the_hold(
    factory: Factory, services: Services, settings: Settings
) -> None:
    config = alert_settings(settings, alert_hold_seconds=HOLD, alert_rules=["class_exhausted"])
    pusher = await icu_region(factory)
    loop = asyncio.get_running_loop()

    async def step() -> Transitions:
        return await evaluate(services.pool, services.queries, config, services.stale_after)

    async def until(wanted: str, timeout: float = 10.0) -> float:
        """Evaluates until an alert fires (or resolves); how long that took."""
        began = loop.time()
        while loop.time() - began < timeout:
            result = await step()
            if getattr(result, wanted):
                assert len(getattr(result, wanted)) == 1
                return loop.time() - began
            await asyncio.sleep(0.1)
        raise AssertionError(f"nothing {wanted} in {timeout} s")

    await set_icu(pusher, 0)
    assert (await step()).fired == []
    await set_icu(pusher, 2)  # clear before the hold ran out: it starts again
    assert (await step()).fired == []
    await set_icu(pusher, 0)
    assert await until("fired") >= HOLD * 0.9

    # Clear for less than the hold, then full again: the open alert stays, nothing new fires.
    await set_icu(pusher, 1)
    assert await step() == Transitions(fired=[], resolved=[])
    await set_icu(pusher, 0)
    assert await step() == Transitions(fired=[], resolved=[])
    await set_icu(pusher, 1)
    assert await until("resolved") >= HOLD * 0.9

    alerts = await rows(services, "SELECT message, resolved_at FROM alerts")
    assert len(alerts) == 1
    assert alerts[0]["resolved_at"] is not None
    assert alerts[0]["message"].startswith("Tempat tidur ICU (dewasa) di 3274 penuh per ")

"""Notify-when-free for citizens: GET the VAPID key, POST a subscription, DELETE it."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from bedsvc.access.client_address import client_address
from bedsvc.errors import BedsvcError, FieldError, InvalidInput, NotFound, invalid
from bedsvc.notifications.endpoints import endpoint_problem
from bedsvc.notifications.schemas import (
    PushKeys,
    SubscribeRequest,
    Subscription,
    UnsubscribeRequest,
    VapidPublicKey,
)
from bedsvc.notifications.service import NotificationService
from bedsvc.problems import problem_responses
from bedsvc.store import notifications as store


class AlreadyFree(BedsvcError):
    status_code = 409
    title = "Already free"


class TooManySubscriptions(BedsvcError):
    status_code = 429
    title = "Too many subscriptions"
    headers = {"Retry-After": "3600"}


def _decoded(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))


def check_keys(keys: PushKeys) -> None:
    """The browser's keys must be a P-256 point and a 16-byte secret, or no push decrypts."""
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _decoded(keys.p256dh))
    except (ValueError, binascii.Error):
        raise invalid("subscription.keys.p256dh", "not a P-256 public key") from None
    try:
        secret = _decoded(keys.auth)
    except (ValueError, binascii.Error):
        secret = b""
    if len(secret) != 16:
        raise invalid("subscription.keys.auth", "not a 16-byte secret")


class NotificationsController(Controller):
    path = "/api/v1/notifications"
    tags = ["public"]

    @get(
        "/key",
        summary="The VAPID public key to subscribe with",
        responses=problem_responses(429, 503),
    )
    async def key(
        self, notifications: NamedDependency[NotificationService]
    ) -> Response[VapidPublicKey]:
        """Give it to PushManager.subscribe as `applicationServerKey`."""
        public_key = await notifications.vapid_key.public_key()
        return Response(
            VapidPublicKey(public_key=public_key), headers={"Cache-Control": "no-cache"}
        )

    @post(
        "/",
        status_code=201,
        summary="Notify me when a bed of this class frees",
        responses=problem_responses(404, 409, 413, 422, 429, 503),
    )
    async def subscribe(
        self,
        request: Request[Any, Any, Any],
        notifications: NamedDependency[NotificationService],
        data: JSONBody[SubscribeRequest],
    ) -> Subscription:
        """Watches one hospital (`hospital_code`) or every listed hospital of a region
        (`region`) for a bed of `bed_class`: when one frees (free beds go from 0 to more),
        the browser gets one push naming the hospital and the class, and the subscription
        ends; unused, it ends after BEDSVC_WEBPUSH_SUBSCRIPTION_SECONDS. Only a full class
        can be watched (409 when a bed is free now). The endpoint must be a browser push
        service's (BEDSVC_WEBPUSH_ENDPOINT_HOSTS)."""
        webpush = notifications.webpush
        if (data.hospital_code is None) == (data.region is None):
            raise InvalidInput(
                "Give hospital_code or region, not both.",
                [FieldError(field="hospital_code", reason="give hospital_code or region")],
            )
        if data.bed_class not in notifications.bed_class_codes:
            raise invalid("bed_class", f"unknown bed class '{data.bed_class}'")
        problem = endpoint_problem(data.subscription.endpoint, webpush)
        if problem is not None:
            raise invalid("subscription.endpoint", problem)
        check_keys(data.subscription.keys)
        outcome = await store.subscribe(
            notifications.pool,
            notifications.queries,
            store.NewSubscription(
                endpoint=data.subscription.endpoint,
                p256dh=data.subscription.keys.p256dh,
                auth=data.subscription.keys.auth,
                bed_class=data.bed_class,
                hospital_code=data.hospital_code,
                region_code=data.region,
                client_address=client_address(request),
            ),
            max_per_address=webpush.webpush_max_per_address,
            lifetime_seconds=webpush.webpush_subscription_seconds,
        )
        if outcome is store.Refusal.NOTHING_WATCHED:
            if data.hospital_code is not None:
                raise NotFound(f"No listed hospital with code '{data.hospital_code}'.")
            raise NotFound(f"No listed hospital in region '{data.region}'.")
        if outcome is store.Refusal.ALREADY_FREE:
            raise AlreadyFree(f"A {data.bed_class} bed is free now: no need to wait.")
        if outcome is store.Refusal.TOO_MANY:
            raise TooManySubscriptions(
                f"This address holds {webpush.webpush_max_per_address} waiting subscriptions."
            )
        return Subscription(
            bed_class=data.bed_class,
            expires_at=outcome.expires_at,
            hospital_code=data.hospital_code,
            region=data.region,
        )

    @delete(
        "/",
        status_code=204,
        summary="Stop notifications to this browser",
        responses=problem_responses(413, 422, 429, 503),
    )
    async def unsubscribe(
        self,
        notifications: NamedDependency[NotificationService],
        data: JSONBody[UnsubscribeRequest],
    ) -> None:
        """Ends every subscription of the endpoint (PushSubscription.endpoint)."""
        await store.unsubscribe(notifications.pool, notifications.queries, data.endpoint)

"""Push delivery adapters over httpx: FCM HTTP v1 and APNs (token auth).

Payloads carry the notification's kind and id only: no names, no note text. The phone
fetches the rest through the authenticated API. Without credentials in the settings push is
skipped; the inbox and the sync feed still carry every notification. APNs speaks HTTP/2
only: the worker's client is built with `http2=True` (the `h2` package).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import jwt

from api.settings import Settings
from models.notifications.deliveries import PushOutcome
from models.notifications.outbox import Notification, Platform

log = logging.getLogger("harbour.push")

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
APNS_JWT_MAX_AGE = 50 * 60  # Apple refuses tokens older than an hour; renew well before
ALERT = {"title": "Harbour", "body": "You have a new reminder."}


def payload_data(notification: Notification) -> dict[str, str]:
    """What a push carries: the kind and the id, nothing that names anyone."""
    return {"kind": str(notification.kind), "notification_id": str(notification.id)}


@dataclass
class PushResult:
    outcome: PushOutcome
    error: str | None = None


def _retry(response: httpx.Response) -> PushResult:
    return PushResult(PushOutcome.retry, f"HTTP {response.status_code}")


class FcmSender:
    """FCM HTTP v1 with a service account: an OAuth token, cached until shortly before expiry."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        service_account: dict[str, str],
        *,
        base_url: str = "https://fcm.googleapis.com",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.account = service_account
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self._fetching = asyncio.Lock()

    async def access_token(self) -> str:
        """The cached token, or a new one: one fetch at a time, so the lanes that find the
        cache empty together wait for a single request to Google instead of each making one."""
        if (cached := self._cached()) is not None:
            return cached
        async with self._fetching:
            if (cached := self._cached()) is not None:
                return cached  # fetched by another lane while this one waited
            return await self._fetch()

    def _cached(self) -> str | None:
        if self._token is not None and self.clock() < self._expires - 60:
            return self._token
        return None

    async def _fetch(self) -> str:
        now = self.clock()
        assertion = jwt.encode(
            {
                "iss": self.account["client_email"],
                "scope": FCM_SCOPE,
                "aud": self.account["token_uri"],
                "iat": int(now),
                "exp": int(now) + 3600,
            },
            self.account["private_key"],
            algorithm="RS256",
        )
        response = await self.client.post(
            self.account["token_uri"],
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion,
            },
        )
        response.raise_for_status()
        body = response.json()
        self._token = str(body["access_token"])
        self._expires = now + float(body.get("expires_in", 3600))
        return self._token

    async def send(self, token: str, notification: Notification) -> PushResult:
        try:
            bearer = await self.access_token()
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            return PushResult(PushOutcome.retry, f"oauth: {type(exc).__name__}")
        project = self.account["project_id"]
        try:
            response = await self.client.post(
                f"{self.base_url}/v1/projects/{project}/messages:send",
                headers={"Authorization": f"Bearer {bearer}"},
                json={
                    "message": {
                        "token": token,
                        "notification": ALERT,
                        "data": payload_data(notification),
                        # A resend of the same notification (after a worker died mid-send)
                        # replaces the one on screen instead of showing twice.
                        "android": {
                            "collapse_key": str(notification.id),
                            "notification": {"tag": str(notification.id)},
                        },
                    }
                },
            )
        except httpx.HTTPError as exc:
            return PushResult(PushOutcome.retry, type(exc).__name__)
        if response.is_success:
            return PushResult(PushOutcome.sent)
        if response.status_code in (400, 404) and "UNREGISTERED" in response.text:
            return PushResult(PushOutcome.unregistered, "UNREGISTERED")
        if response.status_code == 401:
            self._token = None  # fetch a new one next time
        return _retry(response)


class ApnsSender:
    """APNs with token auth: one ES256 JWT from the .p8 key, reused for up to 50 minutes."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        team_id: str,
        key_id: str,
        private_key: str,
        topic: str,
        base_url: str = "https://api.push.apple.com",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.team_id = team_id
        self.key_id = key_id
        self.private_key = private_key
        self.topic = topic
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self._jwt: str | None = None
        self._issued = 0.0

    def provider_token(self) -> str:
        now = self.clock()
        if self._jwt is None or now - self._issued >= APNS_JWT_MAX_AGE:
            self._jwt = jwt.encode(
                {"iss": self.team_id, "iat": int(now)},
                self.private_key,
                algorithm="ES256",
                headers={"kid": self.key_id},
            )
            self._issued = now
        return self._jwt

    async def send(self, token: str, notification: Notification) -> PushResult:
        try:
            response = await self.client.post(
                f"{self.base_url}/3/device/{token}",
                headers={
                    "authorization": f"bearer {self.provider_token()}",
                    "apns-topic": self.topic,
                    "apns-push-type": "alert",
                    "apns-id": str(uuid.uuid4()),
                    # A resend of the same notification replaces the one on screen.
                    "apns-collapse-id": str(notification.id),
                },
                content=json.dumps({"aps": {"alert": ALERT}, **payload_data(notification)}),
            )
        except httpx.HTTPError as exc:
            return PushResult(PushOutcome.retry, type(exc).__name__)
        if response.is_success:
            return PushResult(PushOutcome.sent)
        if response.status_code == 410:
            return PushResult(PushOutcome.unregistered, "Unregistered")
        return _retry(response)


@dataclass
class Pusher:
    """The configured senders; a platform without credentials is skipped."""

    fcm: FcmSender | None = None
    apns: ApnsSender | None = None

    @property
    def configured(self) -> bool:
        return self.fcm is not None or self.apns is not None

    def sender_for(self, platform: Platform) -> FcmSender | ApnsSender | None:
        return self.apns if platform is Platform.ios else self.fcm


def pusher_from_settings(settings: Settings, client: httpx.AsyncClient) -> Pusher:
    """The senders whose credentials are configured (none: push is skipped)."""
    pusher = Pusher()
    account = settings.fcm_service_account_json.get_secret_value()
    if account:
        pusher.fcm = FcmSender(client, json.loads(account), base_url=settings.fcm_base_url)
    key = settings.apns_private_key.get_secret_value()
    if key and settings.apns_team_id and settings.apns_key_id and settings.apns_topic:
        pusher.apns = ApnsSender(
            client,
            team_id=settings.apns_team_id,
            key_id=settings.apns_key_id,
            private_key=key,
            topic=settings.apns_topic,
            base_url=settings.apns_base_url,
        )
    return pusher

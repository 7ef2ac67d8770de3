"""A local stand-in for Google's token endpoint, FCM HTTP v1, APNs and a webhook receiver.

One ASGI app served by hypercorn over TLS (a certificate the test makes, HTTP/2 by ALPN) on
127.0.0.1 at a free port, in a thread of its own with its own event loop: in-process tests
and worker processes alike are ordinary clients over real sockets.

It checks what the real services check (the service account's RS256 assertion, the bearer
token it issued, the APNs ES256 provider token and topic, APNs over HTTP/2 only, the Standard
Webhooks signature), answers from a per-route script (a queue: 503 then 200, UNREGISTERED,
410, a delay) and records every request. Clients trust the certificate through
`ssl_context()` (in process) or `SSL_CERT_FILE` (httpx reads it when a client is built with
the default `verify=True` and `trust_env=True`; see `env()`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import logging
import secrets
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypercorn.asyncio import serve
from hypercorn.config import Config
from hypercorn.typing import Framework
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.providers.tls import DEFAULT_NAMES, TlsFiles, pem_private

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PROJECT = "harbour-e2e"
APNS_TEAM_ID = "TEAME2E123"
APNS_KEY_ID = "KEYE2E4567"
APNS_TOPIC = "org.harbour.app"
WEBHOOK_TOLERANCE_SECONDS = 300
ROUTES = ("oauth", "fcm", "apns", "webhook")

log = logging.getLogger("harbour.tests.provider")


@dataclass(frozen=True)
class Answer:
    """One scripted answer: status, JSON body, headers, and how long to wait before it."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def fcm_unregistered(cls) -> Answer:
        return cls(
            404,
            {
                "error": {
                    "code": 404,
                    "message": "Requested entity was not found.",
                    "status": "NOT_FOUND",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                            "errorCode": "UNREGISTERED",
                        }
                    ],
                }
            },
        )

    @classmethod
    def apns_unregistered(cls) -> Answer:
        return cls(410, {"reason": "Unregistered", "timestamp": int(time.time() * 1000)})

    @classmethod
    def unavailable(cls) -> Answer:
        return cls(503, {"reason": "ServiceUnavailable"})


@dataclass
class Seen:
    """One request as the provider saw it (`status` is None while it is being answered)."""

    route: str
    path: str
    http_version: str
    peer: str
    headers: dict[str, str]
    body: bytes
    arrived: float
    verified: bool = False  # the credential or signature checked out
    token: str | None = None  # the device token (FCM, APNs)
    notification_id: str | None = None
    collapse_id: str | None = None  # apns-collapse-id / android.collapse_key
    delay: float = 0.0  # how long the answer was held back
    status: int | None = None


@dataclass
class Credentials:
    """Test credentials for every provider, made fresh (the keys never leave the test)."""

    rsa_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    ec_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    client_email: str = f"harbour-push@{PROJECT}.iam.gserviceaccount.example"


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class FakeProvider:
    """The server, its script and its record. Use as a context manager (or start/stop)."""

    def __init__(
        self,
        directory: Path,
        credentials: Credentials | None = None,
        *,
        names: Sequence[str] = DEFAULT_NAMES,
    ) -> None:
        """`names`: what the server's certificate is for (it listens on 127.0.0.1 whatever
        they are; a client that connects there under another name pins the address)."""
        self.credentials = credentials or Credentials()
        self.names = tuple(names)
        self.tls = TlsFiles(directory, self.names)
        self._lock = threading.Lock()
        self._seen: list[Seen] = []
        self._script: dict[str, deque[Answer]] = {route: deque() for route in ROUTES}
        self._slow: dict[str, float] = dict.fromkeys(ROUTES, 0.0)
        self._issued: set[str] = set()
        self._webhook_secrets: dict[str, str] = {}
        self._serial = itertools.count(1)
        self._sock = _free_socket()
        self.port: int = self._sock.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    # --- what clients need ---------------------------------------------------------------

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def service_account(self) -> dict[str, str]:
        """A service-account JSON as Google issues it, pointing at this server."""
        return {
            "type": "service_account",
            "project_id": PROJECT,
            "private_key_id": "e2e",
            "private_key": pem_private(self.credentials.rsa_key),
            "client_email": self.credentials.client_email,
            "token_uri": self.token_uri,
        }

    def settings(self) -> dict[str, Any]:
        """`Settings` fields that point FCM and APNs here, and let webhooks reach this
        loopback address (for `Settings.model_copy`)."""
        return {
            "webhook_allow_insecure": True,
            "fcm_service_account_json": json.dumps(self.service_account()),
            "fcm_base_url": self.url,
            "apns_team_id": APNS_TEAM_ID,
            "apns_key_id": APNS_KEY_ID,
            "apns_private_key": pem_private(self.credentials.ec_key),
            "apns_topic": APNS_TOPIC,
            "apns_base_url": self.url,
        }

    def env(self) -> dict[str, str]:
        """Environment for a `harbour worker` that pushes here and trusts this certificate."""
        out = {f"HARBOUR_{name.upper()}": str(value) for name, value in self.settings().items()}
        out["SSL_CERT_FILE"] = str(self.tls.ca_file)
        return out

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's certificate (in-process clients)."""
        return ssl.create_default_context(cafile=str(self.tls.ca_file))

    def webhook_url(self, name: str, secret: str) -> str:
        """A receiver at /webhook/<name> that verifies signatures with `secret`."""
        with self._lock:
            self._webhook_secrets[name] = secret
        return f"{self.url}/webhook/{name}"

    # --- the script and the record ---------------------------------------------------------

    def script(self, route: str, *answers: Answer) -> None:
        """Queue answers for `route`; once they run out it answers success."""
        with self._lock:
            self._script[route].extend(answers)

    def slow(self, route: str, seconds: float) -> None:
        """Every answer on `route` from now on waits `seconds` first (scripted delays add)."""
        with self._lock:
            self._slow[route] = seconds

    def requests(self, route: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self._seen if route is None or s.route == route]

    def in_flight(self) -> list[Seen]:
        with self._lock:
            return [s for s in self._seen if s.status is None]

    def reset(self) -> None:
        """Forget requests, scripts and delays (issued tokens stay valid)."""
        with self._lock:
            self._seen.clear()
            for route in ROUTES:
                self._script[route].clear()
                self._slow[route] = 0.0

    def _next(self, route: str) -> tuple[Answer | None, float]:
        with self._lock:
            queue = self._script[route]
            return (queue.popleft() if queue else None), self._slow[route]

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self._seen.append(seen)

    def _answered(self, seen: Seen, status: int) -> None:
        with self._lock:
            seen.status = status

    # --- the app -----------------------------------------------------------------------------

    async def _capture(self, request: Request, route: str) -> Seen:
        client = request.client
        return Seen(
            route=route,
            path=request.url.path,
            http_version=str(request.scope.get("http_version", "")),
            peer=f"{client.host}:{client.port}" if client else "",
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
            arrived=time.time(),
        )

    async def _answer(
        self, seen: Seen, route: str, default: Answer, refusal: Answer | None
    ) -> Response:
        """Record the request, then answer: a refusal (bad credentials) wins over the script."""
        scripted, slow = self._next(route)
        answer = refusal or scripted or default
        seen.delay = slow + answer.delay
        self._record(seen)
        if seen.delay:
            await asyncio.sleep(seen.delay)
        self._answered(seen, answer.status)
        if answer.body is None:
            return Response(status_code=answer.status, headers=answer.headers)
        return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)

    async def _token(self, request: Request) -> Response:
        seen = await self._capture(request, "oauth")
        form = await request.form()
        refusal: Answer | None = Answer(400, {"error": "invalid_grant"})
        if form.get("grant_type") == JWT_BEARER:
            try:
                claims = jwt.decode(
                    str(form.get("assertion", "")),
                    self.credentials.rsa_key.public_key(),
                    algorithms=["RS256"],
                    audience=self.token_uri,
                    options={"require": ["iss", "aud", "iat", "exp"]},
                )
                if claims["iss"] == self.credentials.client_email and FCM_SCOPE in str(
                    claims.get("scope", "")
                ).split(" "):
                    seen.verified, refusal = True, None
            except jwt.PyJWTError:
                pass
        token = f"ya29.e2e-{next(self._serial)}-{secrets.token_hex(8)}"
        with self._lock:
            if refusal is None:
                self._issued.add(token)
        default = Answer(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})
        return await self._answer(seen, "oauth", default, refusal)

    async def _fcm(self, request: Request) -> Response:
        seen = await self._capture(request, "fcm")
        bearer = seen.headers.get("authorization", "").removeprefix("Bearer ")
        with self._lock:
            known = bearer in self._issued
        refusal = None
        if not known:
            refusal = Answer(401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}})
        elif request.path_params["project"] != PROJECT:
            refusal = Answer(403, {"error": {"code": 403, "status": "PERMISSION_DENIED"}})
        else:
            seen.verified = True
        with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
            message = json.loads(seen.body)["message"]
            seen.token = message.get("token")
            seen.notification_id = message.get("data", {}).get("notification_id")
            seen.collapse_id = message.get("android", {}).get("collapse_key")
        name = f"projects/{PROJECT}/messages/{next(self._serial)}"
        return await self._answer(seen, "fcm", Answer(200, {"name": name}), refusal)

    async def _apns(self, request: Request) -> Response:
        seen = await self._capture(request, "apns")
        seen.token = request.path_params["token"]
        seen.collapse_id = seen.headers.get("apns-collapse-id")
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            seen.notification_id = json.loads(seen.body).get("notification_id")
        refusal = self._apns_refusal(seen)
        seen.verified = refusal is None
        apns_id = seen.headers.get("apns-id", "")
        return await self._answer(seen, "apns", Answer(200, headers={"apns-id": apns_id}), refusal)

    def _apns_refusal(self, seen: Seen) -> Answer | None:
        if seen.http_version != "2":  # APNs speaks HTTP/2 only
            return Answer(505, {"reason": "HTTP/2 required"})
        bearer = seen.headers.get("authorization", "").removeprefix("bearer ")
        try:
            if jwt.get_unverified_header(bearer).get("kid") != APNS_KEY_ID:
                return Answer(403, {"reason": "InvalidProviderToken"})
            claims = jwt.decode(bearer, self.credentials.ec_key.public_key(), algorithms=["ES256"])
        except jwt.PyJWTError:
            return Answer(403, {"reason": "InvalidProviderToken"})
        if claims.get("iss") != APNS_TEAM_ID or time.time() - float(claims.get("iat", 0)) > 3600:
            return Answer(403, {"reason": "ExpiredProviderToken"})
        if seen.headers.get("apns-topic") != APNS_TOPIC:
            return Answer(400, {"reason": "BadTopic"})
        if seen.headers.get("apns-push-type") != "alert":
            return Answer(400, {"reason": "InvalidPushType"})
        return None

    async def _webhook(self, request: Request) -> Response:
        seen = await self._capture(request, "webhook")
        with self._lock:
            secret = self._webhook_secrets.get(request.path_params["name"])
        with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
            seen.notification_id = json.loads(seen.body)["data"]["notification_id"]
        seen.verified = secret is not None and verify_webhook(secret, seen.headers, seen.body)
        refusal = None if seen.verified else Answer(401, {"error": "bad signature"})
        return await self._answer(seen, "webhook", Answer(204), refusal)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/token", self._token, methods=["POST"]),
                Route("/v1/projects/{project}/messages:send", self._fcm, methods=["POST"]),
                Route("/3/device/{token}", self._apns, methods=["POST"]),
                Route("/webhook/{name}", self._webhook, methods=["POST"]),
            ]
        )

    # --- running -----------------------------------------------------------------------------

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        config = Config()
        config.bind = [f"fd://{self._sock.detach()}"]
        config.certfile = str(self.tls.cert_file)
        config.keyfile = str(self.tls.key_file)
        config.graceful_timeout = 0.5
        config.errorlog = log
        config.accesslog = None
        ready.set()
        # Starlette's ASGI types and hypercorn's describe the same protocol differently.
        app = cast(Framework, self.app())
        await serve(app, config, shutdown_trigger=self._stop.wait)

    def _run(self, ready: threading.Event) -> None:
        try:
            asyncio.run(self._serve(ready))
        except BaseException as exc:  # noqa: BLE001 - reported by stop()/start()
            self._failure = exc
            ready.set()

    def start(self, timeout: float = 10.0) -> FakeProvider:
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="fake-provider", daemon=True
        )
        self._thread.start()
        ready.wait(timeout)
        deadline = time.monotonic() + timeout
        while True:  # listening once a TLS handshake succeeds
            if self._failure is not None:
                raise RuntimeError("the fake provider did not start") from self._failure
            try:
                with (
                    socket.create_connection(("127.0.0.1", self.port), timeout=1) as raw,
                    self.ssl_context().wrap_socket(raw, server_hostname=self.names[0]),
                ):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def verify_webhook(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks verification, as a receiver does it (independent of models/)."""
    message_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    if not message_id or not stamp.isdigit():
        return False
    if abs(time.time() - int(stamp)) > WEBHOOK_TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(
        hmac.new(key, f"{message_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    offered = headers.get("webhook-signature", "").split(" ")
    return any(
        version == "v1" and hmac.compare_digest(sig, expected)
        for version, _, sig in (o.partition(",") for o in offered)
    )

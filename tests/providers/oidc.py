"""A real OpenID Connect provider on 127.0.0.1 for the tests: `oidc-provider-mock` (a
maintained test provider built on Authlib), run in a thread on a free port.

It signs ID tokens with RS256 under one RSA key published at its JWKS; `rotate_key` replaces
that key in the provider itself (the old one is no longer published), as a real rotation
does. Users' claims (e-mail, `tid`, `groups`, ...) are set through its `PUT /users/{sub}`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import flask
import httpx
import oidc_provider_mock
import werkzeug.serving
from authlib import jose

CALLBACK = "http://127.0.0.1/phone-app/callback"


@dataclass
class Provider:
    issuer: str
    app: flask.Flask

    def set_user(self, sub: str, **claims: Any) -> None:
        response = httpx.put(f"{self.issuer}/users/{sub}", json=claims)
        response.raise_for_status()

    def id_token(self, sub: str, client_id: str, *, nonce: str = "n") -> str:
        """An ID token for `sub`, as the phone app gets it: the authorization code flow."""
        with httpx.Client(base_url=self.issuer) as client:
            params = {
                "client_id": client_id,
                "redirect_uri": CALLBACK,
                "response_type": "code",
                "scope": "openid email profile",
                "nonce": nonce,
                "state": "s",
            }
            consent = client.post("/oauth2/authorize", params=params, data={"sub": sub})
            assert consent.status_code == 302, consent.text
            code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
            tokens = client.post(
                "/oauth2/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": CALLBACK,
                    "client_id": client_id,
                    "client_secret": "phone-app-has-none",
                },
            )
            tokens.raise_for_status()
            token: str = tokens.json()["id_token"]
            return token

    def rotate_key(self) -> None:
        """A new signing key; the old one leaves the JWKS."""
        with self.app.test_request_context():
            self.app.preprocess_request()  # sets the provider's storage on flask.g
            storage = flask.g.oidc_provider_mock_storage
            storage.jwk = jose.RSAKey.generate_key(is_private=True)


@contextmanager
def running_provider() -> Iterator[Provider]:
    app = oidc_provider_mock.app()
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield Provider(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

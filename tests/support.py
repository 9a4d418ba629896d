"""A small client for the Tasks API that runs over either transport.

The contract tests talk to ``Api`` only, so the same assertions run against
``chalice.test.Client`` (in-process moto) and against the real local stack over HTTP.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from requests.structures import CaseInsensitiveDict

from chalicelib.auth.signing_secret import key_id

JSON = {"Content-Type": "application/json"}
PASSWORD = "correct horse battery"
_names = itertools.count()


@dataclass
class Reply:
    status: int
    headers: CaseInsensitiveDict
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_code(self) -> str | None:
        try:
            return self.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.body[:300]!r})"


Transport = Callable[[str, str, dict[str, str], bytes], Reply]


@dataclass
class User:
    username: str
    password: str
    id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Api:
    transport: Transport
    signing_secret: str
    name: str
    users: list[User] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        user: User | None = None,
    ) -> Reply:
        all_headers = dict(headers or {})
        if user is not None:
            all_headers.update(user.auth)
        raw = b""
        if json_body is not None:
            all_headers.setdefault("Content-Type", "application/json")
            raw = json.dumps(json_body).encode()
        elif body is not None:
            raw = body.encode() if isinstance(body, str) else body
        return self.transport(method, path, all_headers, raw)

    def register(self, username: str, password: str = PASSWORD) -> Reply:
        return self.request(
            "POST", "/auth/register", json_body={"username": username, "password": password}
        )

    def login(self, username: str, password: str = PASSWORD) -> Reply:
        return self.request(
            "POST", "/auth/login", json_body={"username": username, "password": password}
        )

    def new_user(self, prefix: str = "user") -> User:
        username = unique_username(prefix)
        registered = self.register(username)
        assert registered.status == 201, registered
        logged_in = self.login(username)
        assert logged_in.status == 200, logged_in
        user = User(username, PASSWORD, registered.json()["id"], logged_in.json()["access_token"])
        self.users.append(user)
        return user

    def create_task(self, user: User, **fields: Any) -> dict[str, Any]:
        reply = self.request("POST", "/tasks", json_body={"title": "a task", **fields}, user=user)
        assert reply.status == 201, reply
        return reply.json()

    def token(self, **overrides: Any) -> str:
        """A token signed with the service's secret; ``None`` values drop a claim."""
        now = int(time.time())
        claims = {
            "sub": "01JDQ3AAAAAAAAAAAAAAAAAAAA",
            "username": "someone",
            "iss": "tasks-api",
            "aud": "tasks-api",
            "iat": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
        }
        key = overrides.pop("key", self.signing_secret)
        kid = key_id(key.encode() if isinstance(key, str) else key)
        headers = overrides.pop("headers", {"kid": kid})
        algorithm = overrides.pop("algorithm", "HS256")
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def unique_username(prefix: str = "user") -> str:
    return f"{prefix}{os.getpid() % 1000}.{next(_names)}.{uuid.uuid4().hex[:6]}"


def chalice_transport(client: Any) -> Transport:
    def send(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        response = client.http.request(method, path, headers=headers, body=body)
        return Reply(response.status_code, CaseInsensitiveDict(response.headers), response.body)

    return send


def http_transport(base_url: str, session: Any) -> Transport:
    def send(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        response = session.request(
            method, base_url + path, headers=headers, data=body or None, timeout=30
        )
        return Reply(response.status_code, CaseInsensitiveDict(response.headers), response.content)

    return send

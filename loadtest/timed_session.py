"""An HTTP session to the API on loopback that times and records every request."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
REQUEST_TIMEOUT_SECONDS = 30
NO_RESPONSE = 0  # the status recorded when a request got no answer at all


@dataclass(frozen=True)
class Sample:
    """One request: which operation, the status it got (``NO_RESPONSE`` if none), how long."""

    operation: str
    status: int
    seconds: float


def require_loopback(base_url: str) -> str:
    """The load test only ever talks to a stack on this machine."""
    host = urlsplit(base_url).hostname
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"the load test only targets loopback, not {base_url!r}")
    return base_url.rstrip("/")


class TimedSession:
    """One client's connection (``requests.Session``); appends a ``Sample`` per request."""

    def __init__(self, base_url: str, samples: list[Sample]) -> None:
        self.base_url = require_loopback(base_url)
        self.samples = samples
        self.token: str | None = None
        self._session = requests.Session()
        self._session.trust_env = False  # no proxies from the environment: loopback only

    def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        anonymous: bool = False,
    ) -> requests.Response | None:
        """The response, or ``None`` when the request got no answer (recorded either way).

        Sends the session's bearer token unless ``anonymous`` (register, login).
        """
        all_headers = dict(headers or {})
        if self.token is not None and not anonymous:
            all_headers["Authorization"] = f"Bearer {self.token}"
        started = time.perf_counter()
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                json=json_body,
                params=params,
                headers=all_headers,
                timeout=REQUEST_TIMEOUT_SECONDS,
            )
        except requests.RequestException:
            self.samples.append(Sample(operation, NO_RESPONSE, time.perf_counter() - started))
            return None
        self.samples.append(Sample(operation, response.status_code, time.perf_counter() - started))
        return response

    def close(self) -> None:
        self._session.close()


def json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None

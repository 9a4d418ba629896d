"""Login throttling (contract v2): per username and client address, a username-wide cap,
atomic counting under real concurrency, and existing sessions left alone.

The in-process half drives ``AccountService`` with explicit addresses; the end-to-end half
connects to the real local stack from 127.0.0.1 and 127.0.0.2 (both loopback), whose
``chalice local`` reports the TCP peer as ``sourceIp`` as API Gateway does.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.auth import passwords
from chalicelib.domain.validation import Credentials
from chalicelib.errors import InvalidCredentials, TooManyAttempts
from chalicelib.services.accounts import (
    LOCKOUT_WINDOW_SECONDS,
    MAX_FAILED_LOGINS_PER_ADDRESS,
    MAX_FAILED_LOGINS_PER_USERNAME,
)
from chalicelib.storage.records import login_counter_for_address
from devstack.stack import LocalStack
from tests.support import PASSWORD, Api, unique_username

WRONG = "wrong password"


# --- in-process: the rules, with addresses chosen by the test -----------------------------


def _attempt(username: str, password: str, address: str) -> str:
    try:
        runtime.account_service().login(Credentials(username, password), address)
    except TooManyAttempts:
        return "throttled"
    except InvalidCredentials:
        return "invalid"
    return "ok"


def test_five_failures_lock_only_that_address(inprocess_api: Api) -> None:
    user = inprocess_api.new_user()
    for _ in range(MAX_FAILED_LOGINS_PER_ADDRESS):
        assert _attempt(user.username, WRONG, "198.51.100.7") == "invalid"
    assert _attempt(user.username, PASSWORD, "198.51.100.7") == "throttled"
    assert _attempt(user.username, PASSWORD, "203.0.113.9") == "ok"


def test_fifty_failures_over_all_addresses_lock_every_address(inprocess_api: Api) -> None:
    user = inprocess_api.new_user()
    addresses = [f"198.51.100.{n}" for n in range(10)]
    for address in addresses:
        for _ in range(MAX_FAILED_LOGINS_PER_ADDRESS):
            assert _attempt(user.username, WRONG, address) == "invalid"
    assert MAX_FAILED_LOGINS_PER_ADDRESS * len(addresses) == MAX_FAILED_LOGINS_PER_USERNAME
    assert _attempt(user.username, PASSWORD, "203.0.113.9") == "throttled"
    assert _attempt(user.username.upper(), PASSWORD, "192.0.2.1") == "throttled"


def test_a_username_wide_lock_does_not_use_up_an_address_allowance(inprocess_api: Api) -> None:
    user = inprocess_api.new_user()
    for n in range(MAX_FAILED_LOGINS_PER_USERNAME // MAX_FAILED_LOGINS_PER_ADDRESS):
        for _ in range(MAX_FAILED_LOGINS_PER_ADDRESS):
            _attempt(user.username, WRONG, f"198.51.100.{n}")
    for _ in range(10):  # refused by the username-wide cap: not counted against this address
        assert _attempt(user.username, WRONG, "203.0.113.9") == "throttled"
    locked = runtime.records_repository().reserve_attempt(
        login_counter_for_address(user.username, "203.0.113.9"),
        MAX_FAILED_LOGINS_PER_ADDRESS,
        LOCKOUT_WINDOW_SECONDS,
        time.time(),
    )
    assert locked is None  # the address still had its own allowance


def test_successful_logins_do_not_count_towards_the_username_cap(inprocess_api: Api) -> None:
    user = inprocess_api.new_user()
    for n in range(MAX_FAILED_LOGINS_PER_USERNAME + 5):
        assert _attempt(user.username, PASSWORD, f"198.51.100.{n % 200}") == "ok"


def test_a_throttled_unknown_username_answers_like_a_throttled_real_one(
    inprocess_api: Api,
) -> None:
    real, unknown = inprocess_api.new_user().username, unique_username("ghost")
    for name in (real, unknown):
        for _ in range(MAX_FAILED_LOGINS_PER_ADDRESS):
            assert _attempt(name, WRONG, "198.51.100.1") == "invalid"
        assert _attempt(name, PASSWORD, "198.51.100.1") == "throttled"


def test_parallel_guesses_check_no_more_passwords_than_the_limit(
    inprocess_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threads share one moto backend; the count of scrypt runs is exact."""
    user = inprocess_api.new_user()
    checked: list[int] = []
    lock = threading.Lock()
    real_verify = passwords.verify_password

    def counting_verify(password: str, stored: str) -> bool:
        with lock:
            checked.append(1)
        return real_verify(password, stored)

    monkeypatch.setattr(passwords, "verify_password", counting_verify)
    with ThreadPoolExecutor(max_workers=15) as pool:
        outcomes = list(
            pool.map(lambda _: _attempt(user.username, WRONG, "198.51.100.1"), range(15))
        )
    assert outcomes.count("invalid") == MAX_FAILED_LOGINS_PER_ADDRESS
    assert outcomes.count("throttled") == 15 - MAX_FAILED_LOGINS_PER_ADDRESS
    assert len(checked) == MAX_FAILED_LOGINS_PER_ADDRESS
    assert _attempt(user.username, PASSWORD, "198.51.100.1") == "throttled"


# --- end to end: real concurrency, real peer addresses ------------------------------------


def _login_from(stack: LocalStack, source: str, username: str, password: str) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(
        "127.0.0.1", stack.port, timeout=60, source_address=(source, 0)
    )
    try:
        body = json.dumps({"username": username, "password": password})
        connection.request(
            "POST", "/auth/login", body=body, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        return response.status, dict(response.getheaders())
    finally:
        connection.close()


@pytest.mark.e2e
def test_fifteen_parallel_wrong_guesses_then_the_right_password(
    http_api: Api, local_stack: LocalStack
) -> None:
    """The attack run's repro: before the fix every guess was checked and the login worked."""
    user = http_api.new_user("parallel")
    with ThreadPoolExecutor(max_workers=15) as pool:
        statuses = list(
            pool.map(
                lambda _: _login_from(local_stack, "127.0.0.1", user.username, WRONG)[0],
                range(15),
            )
        )
    assert statuses.count(401) <= MAX_FAILED_LOGINS_PER_ADDRESS
    assert statuses.count(401) + statuses.count(429) == 15
    status, headers = _login_from(local_stack, "127.0.0.1", user.username, PASSWORD)
    assert status == 429
    assert 1 <= int(headers["Retry-After"]) <= LOCKOUT_WINDOW_SECONDS


@pytest.mark.e2e
def test_another_address_still_logs_in_and_sessions_are_unaffected(
    http_api: Api, local_stack: LocalStack
) -> None:
    user = http_api.new_user("peer")
    for _ in range(MAX_FAILED_LOGINS_PER_ADDRESS):
        assert _login_from(local_stack, "127.0.0.1", user.username, WRONG)[0] == 401
    assert _login_from(local_stack, "127.0.0.1", user.username, PASSWORD)[0] == 429
    assert _login_from(local_stack, "127.0.0.2", user.username, PASSWORD)[0] == 200
    assert http_api.request("GET", "/users/me", user=user).status == 200


@pytest.mark.e2e
def test_x_forwarded_for_is_never_trusted(http_api: Api, local_stack: LocalStack) -> None:
    user = http_api.new_user("xff")
    for n in range(MAX_FAILED_LOGINS_PER_ADDRESS):
        reply = http_api.request(
            "POST",
            "/auth/login",
            json_body={"username": user.username, "password": WRONG},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        )
        assert reply.status == 401
    spoofed = http_api.request(
        "POST",
        "/auth/login",
        json_body={"username": user.username, "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.200"},
    )
    assert spoofed.status == 429

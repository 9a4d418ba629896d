"""Unit: ids, timestamps, configuration, the signing secret and the table layout."""

from __future__ import annotations

import re
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib.auth.signing_secret import SigningKeys, load_signing_keys
from chalicelib.config import Settings
from chalicelib.domain.ids import is_valid_id, new_id
from chalicelib.domain.timestamps import utc_now
from chalicelib.errors import ConfigurationError
from chalicelib.storage.table_layout import all_tables, create_missing_tables

PROJECT_DIR = Path(__file__).resolve().parent.parent


def test_ids_sort_by_creation_even_within_one_millisecond() -> None:
    ids = [new_id() for _ in range(2000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 2000
    assert all(is_valid_id(i) for i in ids)


@pytest.mark.parametrize("value", ["", "01JDQ3", "01jdq3aaaaaaaaaaaaaaaaaaaa", "8" + "0" * 25, 5])
def test_malformed_ids(value: object) -> None:
    assert not is_valid_id(value)  # type: ignore[arg-type]


def test_timestamps_are_rfc3339_utc_milliseconds() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", utc_now())


def _settings(**environ: str) -> Settings:
    return Settings.from_environ(environ)


def test_settings_defaults_follow_the_stage() -> None:
    settings = _settings(STAGE="dev")
    assert (settings.users_table, settings.tasks_table) == (
        "tasks-api-dev-users",
        "tasks-api-dev-tasks",
    )
    assert settings.token_lifetime_seconds == 900 and settings.allowed_origin == "*"
    assert settings.refresh_token_lifetime_seconds == 30 * 86400


@pytest.mark.parametrize("lifetime", ["0", "59", "86401", "abc", "-5"])
def test_a_silly_token_lifetime_is_a_configuration_error(lifetime: str) -> None:
    with pytest.raises(ConfigurationError):
        _settings(TOKEN_LIFETIME_SECONDS=lifetime)


def test_the_local_stage_may_take_the_secret_from_the_environment() -> None:
    settings = _settings(STAGE="local", TOKEN_SIGNING_SECRET="x" * 32)
    assert load_signing_keys(settings, ssm_client=_no_ssm) == SigningKeys(b"x" * 32)


@pytest.mark.parametrize(
    "environ",
    [
        {"STAGE": "local", "TOKEN_SIGNING_SECRET": "x" * 31},
        {"STAGE": "local"},
        {"STAGE": "prod", "TOKEN_SIGNING_SECRET": "x" * 64},  # AWS stages must use SSM
        {"STAGE": "prod"},
        {"STAGE": "local", "TOKEN_SIGNING_SECRET": "x" * 32, "TOKEN_SIGNING_SECRET_PREVIOUS": "y"},
        {"STAGE": "prod", "TOKEN_SIGNING_SECRET_PREVIOUS": "y" * 64},
    ],
)
def test_weak_or_misplaced_secrets_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        load_signing_keys(_settings(**environ), ssm_client=_no_ssm)


def _no_ssm() -> None:
    raise AssertionError("SSM must not be called")


def test_creating_tables_is_idempotent_and_matches_the_layout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}.items():
        monkeypatch.setenv(name, value)
    settings = _settings(STAGE="test")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        assert create_missing_tables(client, settings) == [
            "tasks-api-test-users",
            "tasks-api-test-tasks",
            "tasks-api-test-records",
            "tasks-api-test-sessions",
        ]
        for expiring in ("tasks", "records", "sessions"):
            ttl = client.describe_time_to_live(TableName=f"tasks-api-test-{expiring}")
            assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"
            assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
        assert create_missing_tables(client, settings) == []
        tasks = client.describe_table(TableName="tasks-api-test-tasks")["Table"]
        assert tasks["KeySchema"] == all_tables(settings)[1]["KeySchema"]
        assert [index["IndexName"] for index in tasks["LocalSecondaryIndexes"]] == ["by_status"]


def test_no_code_path_scans_a_table() -> None:
    sources = [PROJECT_DIR / "app.py", *sorted((PROJECT_DIR / "chalicelib").rglob("*.py"))]
    for source in sources:
        text = source.read_text()
        assert not re.search(r"\.scan\(|\"Scan\"|FilterExpression", text), source.name


def _reference_ulid_encoding(number: int) -> str:
    """The ULID spec's encoding, five bits at a time."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "".join(alphabet[(number >> (5 * i)) & 31] for i in reversed(range(26)))


def test_ids_use_the_ulid_spec_encoding() -> None:
    import random

    from chalicelib.domain.ids import _encode

    rng = random.Random(7)
    numbers = [0, 1, (1 << 128) - 1, (1 << 80), (1 << 80) - 1]
    numbers += [rng.getrandbits(128) for _ in range(500)]
    for number in numbers:
        assert _encode(number) == _reference_ulid_encoding(number)


def test_utc_now_matches_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    import time as time_module

    cases = {
        0: "1970-01-01T00:00:00.000Z",
        1_795_406_635_784_999_999: "2026-11-23T04:03:55.784Z",
        1_795_406_636_001_000_000: "2026-11-23T04:03:56.001Z",
    }
    for nanoseconds, expected in cases.items():
        monkeypatch.setattr(time_module, "time_ns", lambda n=nanoseconds: n)
        assert utc_now() == expected

"""After the load: read every task back and walk every listing, against each user's ledger."""

from __future__ import annotations

import threading
from collections import Counter

from loadtest.findings import Findings
from loadtest.ledger import Ledger, field_disagreements, version_disagreement
from loadtest.timed_session import Sample, TimedSession, json_or_none
from loadtest.virtual_user import TASK_STATUSES, VirtualUser, listing_params

LISTING_PAGE_LIMIT = 20  # small enough that a full walk follows several cursors


def verify_ledger(base_url: str, token: str, ledger: Ledger, samples: list[Sample]) -> Findings:
    """Check one owner's tasks and listings against the acknowledged writes in ``ledger``."""
    findings = Findings()
    client = TimedSession(base_url, samples)
    client.token = token
    try:
        for record in ledger.tasks.values():
            if record.uncertain:
                continue
            response = client.request("verify_get", "GET", f"/tasks/{record.id}")
            if response is None:
                continue  # counted from the samples
            if record.deleted:
                if response.status_code != 404:
                    findings.add(
                        "deleted_404", f"task {record.id}: GET {response.status_code} after delete"
                    )
                continue
            if response.status_code != 200:
                findings.add("readable", f"task {record.id}: GET {response.status_code}")
                continue
            task = json_or_none(response)
            for problem in field_disagreements(record, task):
                findings.add("readable", problem)
            version_problem = version_disagreement(record, task, response.headers.get("ETag"))
            if version_problem:
                findings.add("version", version_problem)
        if ledger.listing_is_certain:
            for status in (None, *TASK_STATUSES):
                for problem in _listing_problems(client, ledger, status):
                    findings.add("listing", problem)
    finally:
        client.close()
    return findings


def verify_virtual_users(
    base_url: str, virtual_users: list[VirtualUser]
) -> tuple[Findings, list[Sample]]:
    """Verify every user that got a token, in parallel; the findings and the requests made."""
    results: dict[int, tuple[Findings, list[Sample]]] = {}

    def verify_one(user: VirtualUser) -> None:
        samples: list[Sample] = []
        findings = Findings()
        try:
            findings = verify_ledger(base_url, user.token or "", user.ledger, samples)
        except Exception as error:
            findings.add("finished", f"verifying {user.username} crashed: {error!r}")
        results[user.index] = (findings, samples)

    threads = [
        threading.Thread(target=verify_one, args=(user,), name=f"verify-{user.index}", daemon=True)
        for user in virtual_users
        if user.token is not None
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    findings = Findings.combined(part for part, _ in results.values())
    samples = [sample for _, part in results.values() for sample in part]
    return findings, samples


def _listing_problems(client: TimedSession, ledger: Ledger, status: str | None) -> list[str]:
    """Walk every page of one listing; it must be exactly the expected tasks, newest first."""
    expected = ledger.expected_listing(status)
    label = f"listing status={status}" if status else "listing"
    seen: list[str] = []
    cursor: str | None = None
    max_pages = len(expected) // LISTING_PAGE_LIMIT + 3  # bounded even if cursors loop
    for _ in range(max_pages):
        params = listing_params(LISTING_PAGE_LIMIT, status, cursor)
        response = client.request("verify_list", "GET", "/tasks", params=params)
        if response is None or response.status_code != 200:
            status_code = None if response is None else response.status_code
            return [f"{label}: page {len(seen) // LISTING_PAGE_LIMIT + 1} got {status_code}"]
        page = json_or_none(response)
        items = page.get("items") if isinstance(page, dict) else None
        if not isinstance(items, list) or len(items) > LISTING_PAGE_LIMIT:
            return [f"{label}: malformed page {page!r:.200}"]
        seen.extend(item.get("id") if isinstance(item, dict) else repr(item) for item in items)
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    else:
        return [f"{label}: still a next_cursor after {max_pages} pages"]
    return _compare_listing(label, seen, expected)


def _compare_listing(label: str, seen: list[str], expected: list[str]) -> list[str]:
    if seen == expected:
        return []
    problems = []
    duplicates = sorted(task_id for task_id, count in Counter(seen).items() if count > 1)
    missing = sorted(set(expected) - set(seen))
    unexpected = sorted(set(seen) - set(expected))
    if duplicates:
        problems.append(f"{label}: {len(duplicates)} tasks listed twice, e.g. {duplicates[:3]}")
    if missing:
        problems.append(f"{label}: {len(missing)} live tasks missing, e.g. {missing[:3]}")
    if unexpected:
        problems.append(
            f"{label}: {len(unexpected)} tasks listed that should not be, e.g. {unexpected[:3]}"
        )
    if not problems:
        problems.append(f"{label}: the right tasks, but not newest first")
    return problems

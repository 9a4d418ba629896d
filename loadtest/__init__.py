"""Bounded load test of the Tasks API against a fresh local stack (``make load``).

Virtual users (threads, one HTTP session each) register, log in and run a realistic mix of
task operations for a fixed time. Each keeps a ledger of what the server acknowledged; the
run passes when nothing answered 5xx and the stored tasks and listings match the ledgers.
"""

from loadtest.runner import LoadPlan, LoadResult, drive_load, run_load
from loadtest.verification import verify_ledger, verify_virtual_users

__all__ = [
    "LoadPlan",
    "LoadResult",
    "drive_load",
    "run_load",
    "verify_ledger",
    "verify_virtual_users",
]

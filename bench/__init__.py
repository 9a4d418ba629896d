"""Benchmarks for the Tasks API (`make bench`): cold start, Lambda memory and price, the warm
budget, DynamoDB request units, purge, package size and password hashing.

Timings are ratios against a baseline measured in the same run, or CPU time, because the
machine is small, shared and noisy; they are reported, never asserted.
(No imports here: the cold-start children import ``bench.fastapi_baseline`` and should pay
for nothing else.)
"""

"""Benchmarks for the Tasks API (`make bench`): cold start, warm overhead, DynamoDB cost,
package size, password hashing and local-stack throughput.

Every performance claim is a ratio against a baseline measured in the same run, because
the machine is small, shared and noisy. Timings are reported, never asserted.
(No imports here: the cold-start children import ``bench.fastapi_baseline`` and should pay
for nothing else.)
"""

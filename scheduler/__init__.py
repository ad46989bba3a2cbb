"""Scheduled jobs: the registry (jobs), the lease (lease), the scheduler (leader).
Its commands (`flask scheduler`, `flask jobs`) are in commands/jobs.py.

Importing this package starts nothing; only `flask serve` and `flask scheduler` do.
"""

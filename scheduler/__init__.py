"""Scheduled jobs: the registry (jobs), the lease (lease), the scheduler (leader), commands (cli).

Importing this package starts nothing; only `flask serve` and `flask scheduler` do.
"""

"""Operator tools for the retail demo: seed data, traffic, invariant checks.

Not a service: it owns no tables and publishes nothing itself. It is the one
place allowed to call several services' actions and read their tables.
"""

"""Helpers for tests and benchmarks of the scheduler (no runtime code depends on them)."""

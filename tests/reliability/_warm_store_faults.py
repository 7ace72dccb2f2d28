"""Preloaded by the forkserver of test_baseline_kills.py: victims fork from a warm process."""

from tests.reliability._store_faults import warm_up

warm_up()

"""The modules here read the two runs of tests/fixtures/shared_runs.py: one
group, on one worker (tests/fixtures/scheduling.py), started early."""
import pytest


def pytest_itemcollected(item):
    item.add_marker(pytest.mark.cost(minutes=6))  # the two shared pipeline runs

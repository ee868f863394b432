"""The real-node fixtures of tests/e2e, for the tests here that watch what a node sends."""

from tests.e2e.conftest import fediverse, start_node

__all__ = ["fediverse", "start_node"]

"""Key pairs and password hashing for test nodes: made once, cheap to reuse.

A node's start-up generates two 2048-bit RSA keys (the Group actor and the
instance actor) and hashes the first admin's password with Argon2: most of
what starting a node costs. Test nodes take their keys from a pool made once
per test session instead, and hash with cheap Argon2 parameters. Product code
gets them through ``node.bootstrap.prepare``'s parameters, not a test branch.
"""

from __future__ import annotations

import functools
import itertools

from argon2 import PasswordHasher

from federation.keys import KeyPairPem, generate_key_pair

POOL_SIZE = 32  # 16 nodes started one after another never share a key
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # tests only

_next_index = itertools.count()


@functools.cache
def pooled_key_pair(index: int) -> KeyPairPem:
    """The ``index``-th key pair of the session's pool, generated on first use."""
    return generate_key_pair()


def next_key_pair() -> KeyPairPem:
    """A key pair no other actor of the last ``POOL_SIZE - 1`` ones has.

    Nodes of one test start one after another, so two of their actors never
    share a key (tests check whose signature is whose); across tests they do,
    which is harmless: every test has its own databases.
    """
    return pooled_key_pair(next(_next_index) % POOL_SIZE)

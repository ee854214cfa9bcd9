"""Consistent hashing: the points of a ketama ring, and Lamping and Veach's jump hash.

A key (a user, a request id) hashes to a stable 64-bit number, the same in every process;
``ConsistentHash`` (in ``balancers``) walks the ring from there.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from . import _validate


def hash64(text: str) -> int:
    """A stable 64-bit hash (the first 8 bytes of MD5), the same in every process."""
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:8], "big")


#: The largest ring built (about a second in pure Python). Envoy's ring hash allows up to
#: 8M points (``maximum_ring_size`` in ``envoy/config/cluster/v3/cluster.proto``), in C++.
MAX_RING_POINTS = 100_000


@lru_cache(maxsize=16)
def ring(n_instances: int, vnodes: int) -> tuple[list[int], list[int]]:
    """Sorted ring points ``hash(f"{index}_{v}")`` and the instance owning each."""
    points = sorted((hash64(f"{i}_{v}"), i) for i in range(n_instances) for v in range(vnodes))
    return [p for p, _ in points], [i for _, i in points]


def jump_hash(key: int, buckets: int) -> int:
    """Lamping and Veach's jump consistent hash: the bucket in [0, buckets) for a 64-bit key.

    Going from n to n+1 buckets moves only the keys that land in the new bucket.

    >>> [jump_hash(k, 10) for k in range(5)]
    [0, 6, 6, 8, 1]
    """
    key = _validate.integer("key", key, minimum=0)
    if key >= 1 << 64:
        raise ValueError(f"key must be < 2**64 (an unsigned 64-bit integer), got {key}")
    buckets = _validate.integer("buckets", buckets, minimum=1)
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & 0xFFFF_FFFF_FFFF_FFFF
        j = int((b + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return b

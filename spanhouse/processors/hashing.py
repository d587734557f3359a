"""The FNV-1a hashes the collector's samplers use, from maintained libraries.

- ``fnv1a_32``: ``probabilistic_sampler`` in ``hash_seed`` mode (``fnv-hash-fast``, a C
  extension: it runs once per distinct trace id of every batch).
- ``fnv1a_64``: the ``tail_sampling`` processor's ``probabilistic`` policy (``fnvhash``; once
  per trace decision, so pure Python is fast enough).
"""

from __future__ import annotations

from fnv_hash_fast import fnv1a_32 as _fnv1a_32
from fnvhash import fnv1a_64 as _fnv1a_64


def fnv1a_32(data: bytes) -> int:
    return _fnv1a_32(data)


def fnv1a_64(data: bytes) -> int:
    return _fnv1a_64(data)

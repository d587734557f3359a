"""The embedded store's directory for a test package.

chDB allows one data path per process while a client is open: use our own directory, else
the one another test package already holds (each test then uses its own database).
"""

from __future__ import annotations

from spanhouse.store.connection import open_client


def open_keeper(tmp_path_factory, name: str, share_glob: str = "chdb-*"):
    """``(endpoint, client)``: a client kept open on ``chdb://DIR`` for the package's life."""
    own = tmp_path_factory.mktemp(name)
    try:
        return f"chdb://{own}", open_client(f"chdb://{own}", "default")
    except Exception:
        for candidate in sorted(tmp_path_factory.getbasetemp().glob(share_glob)):
            try:
                return f"chdb://{candidate}", open_client(f"chdb://{candidate}", "default")
            except Exception:
                continue
        raise

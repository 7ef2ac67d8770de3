"""The process's heap after startup, out of the cyclic garbage collector's way.

CPython's full (generation 2) collections walk every tracked object. After startup that is
about 160,000 objects that live as long as the process (modules, SQLAlchemy's mappers and
compiled statements, FastAPI's routes and validators), and a request or a sweep that
allocates a few thousand rows triggers such a collection every so often: measured on the
5,000-staff council of `make bench-scale`, they were the whole gap between the oversight
roll-up's p50 and p95 (+90-100 ms each) and 40% of a reminder sweep (docs/PERFORMANCE.md,
"Scale of the rest"). `gc.freeze()` moves what exists into a permanent generation that
collections skip; those objects are still freed by reference counting when released.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect once, then freeze what is left: call at the end of a process's startup."""
    gc.collect()
    gc.freeze()

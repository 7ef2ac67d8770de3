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

# A request or a sweep makes thousands of allocations, so with the default threshold (700)
# the youngest generation was collected several times a request and the older ones walked
# every few dozen requests (9 full passes of about 0.2 s in 40 s of the load benchmark;
# docs/PERFORMANCE.md). Harbour's processes collect it every 10,000 allocations instead: what
# a request leaves behind is still collected, a little later (a few MB at most).
GC_YOUNG_THRESHOLD = 10_000


def collect_less_often() -> None:
    """The youngest generation collected every `GC_YOUNG_THRESHOLD` allocations (call once,
    as a process starts: the server, the worker)."""
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def freeze_startup_heap() -> None:
    """Collect once, then freeze what is left: call at the end of a process's startup."""
    gc.collect()
    gc.freeze()

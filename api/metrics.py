"""A small Prometheus text-format registry: request counts and latencies per route (this
process's), and gauges read from the database at each scrape (the whole deployment's:
delivery backlog, scheduler heartbeat), so they agree whichever API process answers."""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from datetime import datetime

from models.notifications.delivery_status import Backlog

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self._buckets: dict[tuple[str, str], list[int]] = {}
        self._sums: dict[tuple[str, str], float] = defaultdict(float)
        self._counts: dict[tuple[str, str], int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(method, route, str(status))] += 1
            key = (method, route)
            buckets = self._buckets.setdefault(key, [0] * len(BUCKETS))
            index = bisect.bisect_left(BUCKETS, seconds)
            for i in range(index, len(BUCKETS)):
                buckets[i] += 1
            self._sums[key] += seconds
            self._counts[key] += 1

    def render(self) -> str:
        lines = [
            "# HELP harbour_http_requests_total HTTP requests by method, route and status.",
            "# TYPE harbour_http_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), n in sorted(self._requests.items()):
                labels = f'method="{method}",route="{_escape(route)}",status="{status}"'
                lines.append(f"harbour_http_requests_total{{{labels}}} {n}")
            lines += [
                "# HELP harbour_http_request_duration_seconds Request latency.",
                "# TYPE harbour_http_request_duration_seconds histogram",
            ]
            for (method, route), buckets in sorted(self._buckets.items()):
                labels = f'method="{method}",route="{_escape(route)}"'
                for bound, n in zip(BUCKETS, buckets, strict=True):
                    lines.append(
                        f'harbour_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {n}'
                    )
                count = self._counts[(method, route)]
                lines.append(
                    f'harbour_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {count}'
                )
                lines.append(
                    f"harbour_http_request_duration_seconds_sum{{{labels}}} "
                    f"{self._sums[(method, route)]:.6f}"
                )
                lines.append(f"harbour_http_request_duration_seconds_count{{{labels}}} {count}")
        return "\n".join(lines) + "\n"


def _gauge(name: str, help_text: str, samples: list[tuple[str, float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    return lines + [f"{name}{labels} {value:g}" for labels, value in samples]


def render_state(backlog: Backlog | None, heartbeat: datetime | None, now: datetime) -> str:
    """The database-backed gauges; `backlog` None when the database could not be read."""
    lines = _gauge(
        "harbour_database_up",
        "Whether this scrape could read the database.",
        [("", 0 if backlog is None else 1)],
    )
    if backlog is None:
        return "\n".join(lines) + "\n"
    if heartbeat is not None:
        lines += _gauge(
            "harbour_scheduler_heartbeat_age_seconds",
            "Seconds since the scheduler holding the lease last beat.",
            [("", max(0.0, (now - heartbeat).total_seconds()))],
        )
    lines += _gauge(
        "harbour_deliveries",
        "Push and webhook deliveries waiting (pending, due or not) or given up on (dead).",
        [
            (f'{{channel="{channel}",status="{status}"}}', float(counts[channel]))
            for status, counts in (("pending", backlog.pending), ("dead", backlog.dead))
            for channel in sorted(counts)
        ],
    )
    lines += _gauge(
        "harbour_deliveries_due",
        "Pending deliveries whose time has come: what the worker should be sending now.",
        [(f'{{channel="{channel}"}}', float(n)) for channel, n in sorted(backlog.due.items())],
    )
    waited = 0.0
    if backlog.oldest_due is not None:
        waited = max(0.0, (now - backlog.oldest_due).total_seconds())
    lines += _gauge(
        "harbour_delivery_oldest_due_seconds",
        "How long the longest-waiting due delivery has been due (0 when none is).",
        [("", waited)],
    )
    return "\n".join(lines) + "\n"

"""A small Prometheus text-format registry: request counts and latencies per route."""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict

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

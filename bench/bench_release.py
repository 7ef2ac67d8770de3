"""Benchmark the anonymised-release decision (k-rule, complementary suppression and the
differencing check) against a yardstick measured in the same run.

    .venv/bin/python -m bench.bench_release [--people 100,300] [--weeks 52]

Yardstick: the same figures (every unit subtree, role and tenure cell of every week, month
and quarter) computed as plain group means with no protection at all. The ratio is what
the privacy guarantee costs on top of the arithmetic.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import defaultdict
from datetime import date, timedelta

from models.disclosure import Observation, PeriodKind, period_start, release

ROLES = ("practitioner", "supervisor", "manager")
TENURE = ("under_1", "1_to_2", "2_to_5", "5_plus")


def synthetic(people: int, weeks: int, seed: int = 7) -> list[Observation]:
    """`people` in teams of 10 (three services), each answering most weeks."""
    rng = random.Random(seed)
    start = date(2025, 11, 3)
    observations = []
    for p in range(people):
        team = p // 10
        path = ("org", f"service{team % 3}", f"team{team}")
        role, tenure = rng.choice(ROLES), rng.choice(TENURE)
        base = rng.uniform(1, 5)
        for w in range(weeks):
            if rng.random() < 0.7:
                observations.append(
                    Observation(
                        person=p,
                        on=start + timedelta(weeks=w, days=rng.randrange(5)),
                        unit_path=path,
                        role_group=role,
                        tenure_band=tenure,
                        value=base + rng.uniform(-1, 1),
                    )
                )
    return observations


def plain_figures(observations: list[Observation]) -> int:
    """The yardstick: every cell's mean per person, unprotected."""
    sums: dict[tuple[object, ...], dict[object, list[float]]] = defaultdict(dict)
    for o in observations:
        for kind in (PeriodKind.week, PeriodKind.month, PeriodKind.quarter):
            start = period_start(kind, o.on)
            keys = [("unit", u) for u in o.unit_path]
            keys += [("role", o.role_group), ("tenure", o.tenure_band)]
            for key in keys:
                sums[(kind, start, *key)].setdefault(o.person, []).append(o.value)
    cells = 0
    for people in sums.values():
        statistics.fmean(statistics.fmean(v) for v in people.values())
        cells += 1
    return cells


def timed(fn: object, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", default="100,300")
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for people in (int(p) for p in args.people.split(",")):
        observations = synthetic(people, args.weeks)
        until = date(2025, 11, 3) + timedelta(weeks=args.weeks)
        cells = plain_figures(observations)
        result = release(observations, 10, until=until)
        yard = timed(lambda obs=observations: plain_figures(obs), args.repeats)
        guarded = timed(lambda obs=observations, u=until: release(obs, 10, until=u), args.repeats)
        released = sum(1 for f in result.figures.values() if not f.suppressed)
        print(
            f"{people:>5} people, {len(observations):>6} check-ins, {cells:>5} cells: "
            f"yardstick {yard * 1000:8.1f} ms   release {guarded * 1000:8.1f} ms   "
            f"ratio {guarded / yard:6.1f}x   released {released} of {len(result.figures)}"
        )


if __name__ == "__main__":
    main()

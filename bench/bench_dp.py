"""Utility and speed of the differentially private release (issue 14), beside a yardstick
measured in the same run.

    .venv/bin/python -m bench.bench_dp [--staff 2000,5000] [--year-rho R] [--seed 7]

A synthetic council (directorates of 500-700 staff, services of 40-150, teams of 6-12; a
director and two staff directly in each directorate, a head of service directly in each
service; weekly pulse check-ins, 5-25, each person taking part in a week with their own
probability, 60% on average; two calendar years) is released month by month and quarter by
quarter with `models.analytics.mechanism.measure_period` under `budget.plan` at the given
yearly budget, for the four measures the worker publishes (wellbeing, two session-feedback
ratings, incidents). Reported:

- utility: the 95% interval half-width of the wellbeing mean of the organisation (monthly),
  each directorate, role group, tenure band and service (quarterly), against the targets of
  issue 14; how often the intervals covered the true mean; the share of cells shown at k=10;
- speed: deciding one month (all four measures) for the largest council, and the two-year
  backfill (24 months + 8 quarters, four measures), beside the yardstick: the same figures as
  plain unprotected group means, in pure Python and in numpy, over the same contributions.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from models.analytics import budget, mechanism
from models.analytics.budget import DEFAULT_YEAR_RHO, plan
from models.analytics.mechanism import (
    Contribution,
    Measure,
    NoisyNode,
    Tree,
    displayable,
    mean_interval,
    measure_period,
    rho_to_epsilon,
)

YEARS = (2025, 2026)
MONTHS = 12 * len(YEARS)
K = 10
DELTA = 1e-6
# The measures the worker publishes (wellbeing/publish.py), in the same order and bounds.
MEASURES = (
    Measure("wellbeing", 5.0, 25.0),
    Measure("feedback_helpful", 1.0, 5.0),
    Measure("feedback_felt_safe", 1.0, 5.0),
    Measure("incidents", 0.0, 3.0),
)
TARGETS = {"org monthly": 0.5, "directorate quarterly": 1.0, "role/tenure quarterly": 1.5}
ROLES = ("manager", "supervisor", "practitioner", "other")
BANDS = ("under_1_year", "1_to_2_years", "2_to_5_years", "5_years_plus")

Array = npt.NDArray[np.float64]


@dataclass
class Council:
    trees: dict[str, Tree]
    unit_leaf: list[str]  # per person
    role: list[str]
    directorate: list[str]
    service: list[str | None]
    starts: list[list[date]]  # per slot: its occupants' start dates, oldest first
    # check-ins: person index, month index (0..23), value
    who: npt.NDArray[np.int64]
    month: npt.NDArray[np.int64]
    value: Array


def _split(total: int, lo: int, hi: int, rng: np.random.Generator) -> list[int]:
    """Sizes in [lo, hi] (as near as the total allows) adding up to total."""
    count = max(1, round(total / ((lo + hi) / 2)))
    raw = rng.uniform(lo, hi, count)
    sizes = [max(1, int(s)) for s in raw * total / raw.sum()]
    sizes[-1] += total - sum(sizes)
    return sizes


def council(staff: int, seed: int) -> Council:
    rng = np.random.default_rng(seed)
    parent: dict[str, str | None] = {"org": None}
    leaf: list[str] = []
    role: list[str] = []
    directorate: list[str] = []
    service: list[str | None] = []
    team_of: list[int] = []

    def person(at: str, as_role: str, d: str, s: str | None, team: int) -> None:
        leaf.append(at)
        role.append(as_role)
        directorate.append(d)
        service.append(s)
        team_of.append(team)

    teams = 0
    for di, d_size in enumerate(_split(staff, 500, 700, rng)):
        d = f"d{di}"
        parent[d] = "org"
        parent[f"{d}:direct"] = d
        for r in ("manager", "other", "other"):
            person(f"{d}:direct", r, d, None, -1)
        for si, s_size in enumerate(_split(d_size - 3, 40, 150, rng)):
            s = f"{d}.s{si}"
            parent[s] = d
            parent[f"{s}:direct"] = s
            person(f"{s}:direct", "manager", d, s, -1)
            for ti, t_size in enumerate(_split(s_size - 1, 6, 12, rng)):
                t = f"{s}.t{ti}"
                parent[t] = s
                for i in range(t_size):
                    r = ("manager", "supervisor", "other")[i] if i < 3 else "practitioner"
                    person(t, r, d, s, teams)
                teams += 1
    n = len(leaf)
    # Tenure: each post's holder stays 6 years on average and is then replaced, so the bands'
    # shares are steady (about 15% under a year).
    first = date(YEARS[0], 1, 1).toordinal()
    starts: list[list[date]] = []
    for _ in range(n):
        held = [first - int(rng.exponential(6.0) * 365.25)]
        leaves_at = first + int(rng.exponential(6.0) * 365.25)
        while leaves_at < first + 365 * len(YEARS):
            held.append(leaves_at)
            leaves_at += int(rng.exponential(6.0) * 365.25)
        starts.append([date.fromordinal(d) for d in held])

    # Pulse scores: a person's level, their team's, and week-to-week variation.
    team_effect = rng.normal(0.0, 1.0, teams + 1)
    level = rng.normal(15.5, 2.5, n) + team_effect[np.array(team_of)]
    rate = rng.beta(3.0, 2.0, n)  # 60% of weeks on average
    weeks = 52 * len(YEARS)
    took_part = rng.random((n, weeks)) < rate[:, None]
    who, week = np.nonzero(took_part)
    scores = np.clip(np.rint(level[who] + rng.normal(0.0, 2.0, who.size)), 5, 25)
    month = (week % 52) * 12 // 52 + 12 * (week // 52)  # 52 weeks = 12 months a year
    trees = {
        "unit": Tree(parent),
        "role": Tree({"org": None, **dict.fromkeys(ROLES, "org")}),
        "tenure_band": Tree({"org": None, **dict.fromkeys(BANDS, "org")}),
    }
    return Council(trees, leaf, role, directorate, service, starts, who, month, scores)


def band(starts: list[date], on: date) -> str:
    """The tenure band on `on` of whoever holds the post then."""
    started = max((s for s in starts if s <= on), default=starts[0])
    years = on.year - started.year - ((on.month, on.day) < (started.month, started.day))
    return BANDS[0] if years < 1 else BANDS[1] if years < 2 else BANDS[2] if years < 5 else BANDS[3]


def period_start(kind: str, index: int) -> date:
    months = index if kind == "month" else 3 * index
    return date(YEARS[0] + months // 12, months % 12 + 1, 1)


def wellbeing(c: Council, kind: str, index: int) -> list[Contribution]:
    """Each person who checked in during the period, once, with their mean score."""
    months = [index] if kind == "month" else [3 * index, 3 * index + 1, 3 * index + 2]
    mask = np.isin(c.month, months)
    n = len(c.unit_leaf)
    counts = np.bincount(c.who[mask], minlength=n)
    sums = np.bincount(c.who[mask], weights=c.value[mask], minlength=n)
    start = period_start(kind, index)
    return [
        Contribution(
            {"unit": c.unit_leaf[p], "role": c.role[p], "tenure_band": band(c.starts[p], start)},
            float(sums[p] / counts[p]),
        )
        for p in np.nonzero(counts)[0]
    ]


def others(c: Council, kind: str, index: int, seed: int) -> list[list[Contribution]]:
    """The other three measures, for timing: feedback from half the staff, incidents of all."""
    rng = np.random.default_rng(seed + index)
    start = period_start(kind, index)
    n = len(c.unit_leaf)
    leaves = [
        {"unit": c.unit_leaf[p], "role": c.role[p], "tenure_band": band(c.starts[p], start)}
        for p in range(n)
    ]
    gave = np.nonzero(rng.random(n) < 0.5)[0]
    helpful = rng.integers(1, 6, n)
    safe = rng.integers(1, 6, n)
    incidents = rng.poisson(0.1, n)
    return [
        [Contribution(leaves[p], float(helpful[p])) for p in gave],
        [Contribution(leaves[p], float(safe[p])) for p in gave],
        [Contribution(leaves[p], float(incidents[p])) for p in range(n)],
    ]


def plain_means_python(
    people: Sequence[Contribution], trees: dict[str, Tree]
) -> dict[tuple[str, str], float]:
    """The yardstick: every node's mean, unprotected, in pure Python."""
    count: dict[tuple[str, str], int] = defaultdict(int)
    total: dict[tuple[str, str], float] = defaultdict(float)
    for p in people:
        for name, leaf in p.leaves.items():
            parent = trees[name].parent
            at: str | None = leaf
            while at is not None:
                count[(name, at)] += 1
                total[(name, at)] += p.value or 0.0
                at = parent[at]
    return {key: total[key] / count[key] for key in count}


def plain_means_numpy(
    people: Sequence[Contribution], trees: dict[str, Tree]
) -> dict[tuple[str, str], float]:
    """The yardstick in numpy: leaf sums by bincount, pushed up each tree."""
    out: dict[tuple[str, str], float] = {}
    values = np.array([p.value or 0.0 for p in people])
    for name, tree in trees.items():
        nodes = list(tree.parent)
        index = {node: i for i, node in enumerate(nodes)}
        at = np.array([index[p.leaves[name]] for p in people], dtype=np.int64)
        count = np.bincount(at, minlength=len(nodes)).astype(np.float64)
        total = np.bincount(at, weights=values, minlength=len(nodes))
        depth = {node: _depth(tree, node) for node in nodes}
        for node in sorted(nodes, key=depth.__getitem__, reverse=True):
            up = tree.parent[node]
            if up is not None:
                count[index[up]] += count[index[node]]
                total[index[up]] += total[index[node]]
        for node in nodes:
            if count[index[node]]:
                out[(name, node)] = float(total[index[node]] / count[index[node]])
    return out


def _depth(tree: Tree, node: str) -> int:
    d = 0
    at = tree.parent[node]
    while at is not None:
        d, at = d + 1, tree.parent[at]
    return d


def _share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def _timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


@dataclass
class Released:
    kind: str
    index: int
    nodes: list[NoisyNode]
    truth: dict[tuple[str, str], float]
    sizes: dict[tuple[str, str], int]


def release(c: Council, year_rho: float) -> list[Released]:
    rhos = plan(year_rho, MEASURES)
    out = []
    for kind, count in (("month", MONTHS), ("quarter", MONTHS // 3)):
        for i in range(count):
            people = wellbeing(c, kind, i)
            nodes = measure_period(people, c.trees, MEASURES[0], rhos[("wellbeing", kind)])
            sizes: dict[tuple[str, str], int] = defaultdict(int)
            for p in people:
                for name, leaf in p.leaves.items():
                    at: str | None = leaf
                    while at is not None:
                        sizes[(name, at)] += 1
                        at = c.trees[name].parent[at]
            truth = plain_means_python(people, c.trees)
            out.append(Released(kind, i, nodes, truth, dict(sizes)))
    return out


def _level(tree: str, node: str) -> str:
    if tree != "unit":
        return "org" if node == "org" else tree
    if node == "org":
        return "org"
    if node.endswith(":direct"):
        return "direct"
    return ("directorate", "service", "team")[node.count(".")]


def utility(released: list[Released]) -> None:
    half: dict[str, list[float]] = defaultdict(list)
    shown: dict[str, list[bool]] = defaultdict(list)
    covered: list[bool] = []
    for r in released:
        for node in r.nodes:
            level = _level(node.tree, node.node)
            key = f"{level} {r.kind}ly"
            if node.tree != "unit" and node.node == "org":
                continue  # the same figure as the unit tree's root
            shown[key].append(displayable(node, K))
            if r.sizes.get((node.tree, node.node), 0) >= K:
                shown["at least k"].append(displayable(node, K))
            else:
                shown["under k"].append(displayable(node, K))
            interval = mean_interval(node)
            truth = r.truth.get((node.tree, node.node))
            if interval is None or truth is None:
                continue
            half[key].append((interval[2] - interval[1]) / 2)
            if displayable(node, K):
                half[f"{key} shown"].append((interval[2] - interval[1]) / 2)
                covered.append(interval[1] <= truth <= interval[2])

    def row(label: str, key: str, target: float | None) -> None:
        h = half[key]
        goal = f"<= {target}" if target is not None else "(report)"
        met = "" if target is None else ("  met" if max(h) <= target else "  NOT MET")
        print(f"| {label:<38} | {statistics.median(h):6.2f} | {max(h):6.2f} | {goal:>8} |{met}")

    print("| 95% interval half-width (pulse points) | median |    max |   target |")
    print("|---|---:|---:|---:|")
    row("organisation, monthly", "org monthly", TARGETS["org monthly"])
    row("organisation, quarterly", "org quarterly", None)
    row("directorate, quarterly", "directorate quarterly", TARGETS["directorate quarterly"])
    row("directorate, monthly", "directorate monthly", None)
    row("role group, quarterly", "role quarterly", TARGETS["role/tenure quarterly"])
    row("tenure band, quarterly", "tenure_band quarterly", TARGETS["role/tenure quarterly"])
    row("service, quarterly (shown)", "service quarterly shown", None)
    row("service, monthly (shown)", "service monthly shown", None)
    service_q = half["service quarterly"]
    within = [sum(h <= limit for h in service_q) / len(service_q) for limit in (1.0, 2.0)]
    print(f"services' quarterly half-width <= 1.0: {within[0]:.0%}, <= 2.0: {within[1]:.0%}")
    print(f"shown intervals covering the true mean: {_share(covered):.1%} of {len(covered)}")
    print()
    print("| cells shown at k=10 | monthly | quarterly |")
    print("|---|---:|---:|")
    for level in ("org", "directorate", "service", "team", "direct", "role", "tenure_band"):
        m, q = shown[f"{level} monthly"], shown[f"{level} quarterly"]
        print(f"| {level:<12} | {sum(m) / len(m):6.0%} | {sum(q) / len(q):6.0%} |")
    every_m = [s for k, v in shown.items() if k.endswith("monthly") for s in v]
    every_q = [s for k, v in shown.items() if k.endswith("quarterly") for s in v]
    print(f"| all cells    | {_share(every_m):6.0%} | {_share(every_q):6.0%} |")
    big, small = shown["at least k"], shown["under k"]
    print(
        f"cells truly holding >= {K} people shown: {sum(big) / len(big):.0%} of {len(big)};"
        f" cells truly holding < {K} shown: {sum(small)} of {len(small)}"
    )


def speed(c: Council, seed: int, year_rho: float) -> None:
    rhos = plan(year_rho, MEASURES)

    def inputs(kind: str, i: int) -> list[list[Contribution]]:
        return [wellbeing(c, kind, i), *others(c, kind, i, seed)]

    periods = [("month", i) for i in range(MONTHS)] + [("quarter", i) for i in range(MONTHS // 3)]
    prepared = {p: inputs(*p) for p in periods}

    def decide(kind: str, i: int) -> bool:
        for m, people in zip(MEASURES, prepared[(kind, i)], strict=True):
            measure_period(people, c.trees, m, rhos[(m.name, kind)])
        return True

    def plain(kind: str, i: int, fn: Callable[..., object]) -> bool:
        for people in prepared[(kind, i)]:
            fn(people, c.trees)
        return True

    month = statistics.median(_timed(lambda: decide("month", 5)) for _ in range(3))
    month_py = statistics.median(
        _timed(lambda: plain("month", 5, plain_means_python)) for _ in range(3)
    )
    month_np = statistics.median(
        _timed(lambda: plain("month", 5, plain_means_numpy)) for _ in range(3)
    )
    backfill = _timed(lambda: [decide(*p) for p in periods])
    backfill_py = _timed(lambda: [plain(*p, plain_means_python) for p in periods])
    backfill_np = _timed(lambda: [plain(*p, plain_means_numpy) for p in periods])
    gather = _timed(lambda: [inputs(*p) for p in periods])
    n = len(c.unit_leaf)
    print(f"| {n} staff, 4 measures | DP release | plain Python | plain numpy | ratio (Python) |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| one month | {month:.2f} s | {month_py:.2f} s | {month_np:.2f} s |"
        f" {month / month_py:.1f}x |"
    )
    print(
        f"| 2-year backfill (24 months + 8 quarters) | {backfill:.1f} s | {backfill_py:.1f} s |"
        f" {backfill_np:.1f} s | {backfill / backfill_py:.1f}x |"
    )
    print(f"(building the contributions from the check-ins, not timed above: {gather:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--staff", default="2000,5000")
    parser.add_argument("--year-rho", type=float, default=DEFAULT_YEAR_RHO)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--quarter-weight", type=float, help="try another budget.QUARTER_WEIGHT")
    parser.add_argument("--count-share", type=float, help="try another mechanism.COUNT_SHARE")
    args = parser.parse_args()
    if args.quarter_weight:
        budget.QUARTER_WEIGHT = args.quarter_weight
    if args.count_share:
        mechanism.COUNT_SHARE = args.count_share
    rho = args.year_rho
    rhos = plan(rho, MEASURES)
    print(
        f"year rho {rho:g} (epsilon {rho_to_epsilon(rho, DELTA):.2f} at delta {DELTA:g}); "
        f"wellbeing per month rho {rhos[('wellbeing', 'month')]:.5f}, "
        f"per quarter {rhos[('wellbeing', 'quarter')]:.5f}"
    )
    sizes = [int(s) for s in args.staff.split(",")]
    for staff in sizes:
        c = council(staff, args.seed)
        levels = [_level("unit", u) for u in c.trees["unit"].parent]
        print(
            f"\n## {len(c.unit_leaf)} staff: {levels.count('directorate')} directorates,"
            f" {levels.count('service')} services, {levels.count('team')} teams;"
            f" {c.who.size} check-ins"
        )
        t = time.perf_counter()
        released = release(c, rho)
        took = time.perf_counter() - t
        print(f"(wellbeing released for 24 months and 8 quarters in {took:.1f} s)\n")
        utility(released)
        if not args.no_speed and staff == max(sizes):
            print()
            speed(c, args.seed, rho)


if __name__ == "__main__":
    main()

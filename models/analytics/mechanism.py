"""The differentially private core of the anonymised release (issue 14): pure, no database.

One call of `measure_period` decides every figure of one measure for one period, across all
breakdown trees at once, and spends exactly the `rho` it is given (zero-concentrated
differential privacy, per person):

1. Each person contributes once: a count of 1 at every node on their leaf-to-root path in
   every tree, and (for measures with values) their value for the period, clipped to the
   measure's bounds and centred on the bounds' midpoint (rounded towards it to a multiple of
   GRID, so that sums are exact in floating point), at the same nodes.
2. The node counts of all trees form one vector and the centred sums another. Adding or
   removing one person changes the counts by at most sqrt(D) in L2 norm and the sums by at
   most sqrt(D) * h, where D is the number of nodes on the longest leaf-to-root path summed
   over the trees and h is half the bounds' range. OpenDP's Gaussian mechanism
   (`make_gaussian`, zCDP, safe against floating-point attacks) adds noise to each vector;
   COUNT_SHARE of rho goes to the counts, the rest to the sums, and the two spends add up
   (zCDP composition) to the period's rho, as OpenDP's privacy maps confirm.
3. Post-processing, which costs no privacy: weighted least squares makes each tree
   consistent (children add up to their parent, and every tree's root agrees), as in Hay et
   al. (2010) "Boosting the accuracy of differentially private histograms through
   consistency". The estimate's standard deviations follow from the projection exactly.
4. A sum is re-centred with the (noisy, consistent) count: total = centred_sum + mid * count.

People are placed at leaves: a unit that can hold people directly (a head of service in a
service) gets a leaf child of its own for them (the caller names it, e.g. "<unit id>:direct"),
so children add up to parents exactly.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt
import opendp.prelude as dp

dp.enable_features("contrib")

COUNT_SHARE = 0.3
"""Share of a value measure's rho spent on the counts (the rest goes to the sums).

Means depend mostly on the sums' noise; counts need enough precision for the k rule."""

GRID = 2.0**-10
"""Values are rounded towards the midpoint to multiples of GRID, so every sum is exact in
floating point (no rounding error can make one person's effect larger than the bound)."""

Z_DISPLAY = NormalDist().inv_cdf(0.99)  # one-sided 99%: a group under k shows < 1% of the time
Z_INTERVAL = NormalDist().inv_cdf(0.975)  # two-sided 95% interval


@dataclass(frozen=True)
class Tree:
    """Nested groups for one breakdown. parent[node] is its parent node id, None for the root.
    unit tree: root "org", then directorates, services, teams (unit ids as str);
    role tree: root "org" -> role group names; tenure tree: root "org" -> band names."""

    parent: Mapping[str, str | None]


@dataclass(frozen=True)
class Contribution:
    """One person in one period, counted once: their leaf in each tree (tree name -> node id)
    and their value for the period (their answers in the period clipped to the measure's
    bounds and averaged), or None for count-only measures (e.g. incidents, participation)."""

    leaves: Mapping[str, str]
    value: float | None


@dataclass(frozen=True)
class Measure:
    name: str  # "wellbeing", "feedback_helpful", "incidents", ...
    lower: float  # clip bounds (wellbeing pulse 5..25)
    upper: float
    has_value: bool = True


@dataclass(frozen=True)
class NoisyNode:
    tree: str
    node: str
    count: float  # noisy people count, made consistent (children add up to parent)
    count_sd: float  # its standard deviation (after post-processing)
    total: float | None  # noisy sum of values, consistent; None for count-only measures
    total_sd: float | None
    # Covariance of the noisy count and total (the total is re-centred with the count, so
    # they move together); mean_interval needs it. None: the interval takes the worst case.
    count_total_cov: float | None = None


@dataclass(frozen=True)
class _Layout:
    """The measured coordinates: every node of every tree, in a fixed order."""

    keys: list[tuple[str, str]]  # (tree, node)
    index: dict[tuple[str, str], int]
    paths: dict[tuple[str, str], list[int]]  # (tree, leaf) -> indices on its path to the root
    path_nodes: int  # D: longest leaf-to-root path, summed over the trees
    constraints: npt.NDArray[np.float64]  # rows: parent - sum(children) = 0, roots agree


def _layout(trees: Mapping[str, Tree]) -> _Layout:
    if not trees:
        raise ValueError("at least one tree is needed")
    keys: list[tuple[str, str]] = []
    for name in sorted(trees):
        parent = trees[name].parent
        roots = [n for n, p in parent.items() if p is None]
        if len(roots) != 1:
            raise ValueError(f"tree {name!r} must have exactly one root")
        for node, up in parent.items():
            if up is not None and up not in parent:
                raise ValueError(f"tree {name!r}: {node!r} has unknown parent {up!r}")
        keys.extend((name, n) for n in sorted(parent))
    index = {key: i for i, key in enumerate(keys)}

    paths: dict[tuple[str, str], list[int]] = {}
    path_nodes = 0
    rows: list[dict[int, float]] = []
    root_index: list[int] = []
    for name in sorted(trees):
        parent = trees[name].parent
        children: dict[str, list[str]] = {n: [] for n in parent}
        for node, up in parent.items():
            if up is not None:
                children[up].append(node)
        longest = 0
        for node in parent:
            if children[node]:
                row = {index[(name, node)]: 1.0}
                for child in children[node]:
                    row[index[(name, child)]] = -1.0
                rows.append(row)
                continue
            path: list[int] = []
            at: str | None = node
            while at is not None:
                path.append(index[(name, at)])
                if len(path) > len(parent):
                    raise ValueError(f"tree {name!r} has a cycle through {node!r}")
                at = parent[at]
            paths[(name, node)] = path
            longest = max(longest, len(path))
        path_nodes += longest
        root_index.append(next(index[(name, n)] for n, p in parent.items() if p is None))
    for other in root_index[1:]:
        rows.append({root_index[0]: 1.0, other: -1.0})

    constraints = np.zeros((len(rows), len(keys)))
    for r, row in enumerate(rows):
        for c, v in row.items():
            constraints[r, c] = v
    return _Layout(keys, index, paths, path_nodes, constraints)


def _gaussian(d_in: float, rho: float, length: int) -> tuple[dp.Measurement, float]:
    """OpenDP's Gaussian mechanism on a float vector of `length` whose L2 sensitivity is
    d_in, with the smallest scale (its standard deviation) whose privacy map stays within rho."""
    space = (
        dp.vector_domain(dp.atom_domain(T=float, nan=False), size=length),
        dp.l2_distance(T=float),
    )
    scale = d_in / math.sqrt(2.0 * rho)
    for _ in range(64):
        meas = dp.m.make_gaussian(*space, scale=scale)
        if meas.map(d_in) <= rho:  # type: ignore[no-untyped-call]  # opendp's map is untyped
            return meas, scale
        scale *= 1.0 + 1e-9
    raise RuntimeError("no Gaussian scale fits the budget")  # pragma: no cover


def _project(
    constraints: npt.NDArray[np.float64], vectors: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Least squares onto {x : A x = 0} with equal noise variance on every coordinate: returns
    the projected columns of `vectors` and the diagonal of the projection (the factor by which
    each coordinate's noise variance shrinks)."""
    a = constraints
    if a.shape[0] == 0:
        return vectors, np.ones(a.shape[1])
    gram = a @ a.T
    solved = np.linalg.solve(gram, a)  # (A A^T)^-1 A
    projected = vectors - a.T @ (solved @ vectors)
    keep = 1.0 - np.einsum("ij,ij->j", a, solved)
    return projected, np.clip(keep, 0.0, 1.0)


def measure_period(
    contributions: Sequence[Contribution],
    trees: Mapping[str, Tree],
    measure: Measure,
    rho: float,
) -> list[NoisyNode]:
    """Spends exactly `rho` (zCDP, per person) for this measure and period across all trees and
    nodes, with OpenDP's Gaussian mechanism (no hand-written samplers), then post-processes each
    tree for consistency (e.g. Hay et al. least squares), which costs nothing."""
    if not rho > 0 or not math.isfinite(rho):
        raise ValueError("rho must be a positive number")
    if measure.has_value and not measure.lower < measure.upper:
        raise ValueError("a measure with values needs lower < upper")
    layout = _layout(trees)
    n = len(layout.keys)
    counts = np.zeros(n)
    sums = np.zeros(n)
    mid = (measure.lower + measure.upper) / 2.0
    half = (measure.upper - measure.lower) / 2.0
    # the exact counts and centred sums: first per leaf, then up each leaf's path
    leaf_counts: dict[tuple[str, str], int] = defaultdict(int)
    leaf_sums: dict[tuple[str, str], float] = defaultdict(float)
    names = set(trees)
    for person in contributions:
        if person.leaves.keys() != names:
            raise ValueError("a contribution must name one leaf in every tree")
        if measure.has_value:
            if person.value is None or not math.isfinite(person.value):
                raise ValueError(f"{measure.name} needs a value for every person")
            clipped = min(max(person.value, measure.lower), measure.upper)
            centred = math.trunc((clipped - mid) / GRID) * GRID  # |centred| <= half, exact
        else:
            centred = 0.0
        for key in person.leaves.items():
            leaf_counts[key] += 1
            leaf_sums[key] += centred
    for key, people in leaf_counts.items():
        path = layout.paths.get(key)
        if path is None:
            raise ValueError(f"{key[1]!r} is not a leaf of tree {key[0]!r}")
        counts[path] += people
        sums[path] += leaf_sums[key]

    # Two Gaussian measurements, composed (zCDP adds up): counts, L2 sensitivity sqrt(D), and
    # centred sums, sqrt(D) * half. Their exact inputs (whole numbers, multiples of GRID) keep
    # float rounding from adding sensitivity.
    d_in = math.sqrt(layout.path_nodes)
    count_rho = rho * COUNT_SHARE if measure.has_value else rho
    sum_rho = rho - count_rho
    while count_rho + sum_rho > rho:  # float rounding: never spend more than rho
        sum_rho = math.nextafter(sum_rho, 0.0)
    count_meas, sd = _gaussian(d_in, count_rho, n)
    columns = [np.asarray(count_meas(counts.tolist()), dtype=np.float64)]
    sum_sd = 0.0
    if measure.has_value:
        sum_meas, sum_sd = _gaussian(d_in * half, sum_rho, n)
        columns.append(np.asarray(sum_meas(sums.tolist()), dtype=np.float64))
    consistent, keep = _project(layout.constraints, np.stack(columns, axis=1))
    count_var = sd**2 * keep
    out: list[NoisyNode] = []
    for i, (name, node) in enumerate(layout.keys):
        count = float(consistent[i, 0])
        if measure.has_value:
            sum_var = sum_sd**2 * keep[i]
            out.append(
                NoisyNode(
                    tree=name,
                    node=node,
                    count=count,
                    count_sd=math.sqrt(count_var[i]),
                    total=float(consistent[i, 1]) + mid * count,
                    total_sd=math.sqrt(sum_var + mid**2 * count_var[i]),
                    count_total_cov=float(mid * count_var[i]),
                )
            )
        else:
            out.append(NoisyNode(name, node, count, math.sqrt(count_var[i]), None, None))
    return out


def displayable(node: NoisyNode, k: int) -> bool:
    """Shown only when the noisy count clears k plus the count's noise margin, so a group that
    truly holds fewer than k people is shown with probability < 1% (count - z_0.99*sd >= k)."""
    return node.count - Z_DISPLAY * node.count_sd >= k


def mean_interval(node: NoisyNode) -> tuple[float, float, float] | None:
    """(mean, low, high) for a 95% interval, or None for count-only measures.

    The mean is total / count; its standard deviation is the delta method's for a ratio of
    two noisy figures (with their covariance; the worst case when it is not known)."""
    if node.total is None or node.total_sd is None or node.count <= 0:
        return None
    mean = node.total / node.count
    if node.count_total_cov is None:
        spread = (node.total_sd + abs(mean) * node.count_sd) / node.count
    else:
        var = (
            node.total_sd**2 - 2.0 * mean * node.count_total_cov + mean**2 * node.count_sd**2
        ) / node.count**2
        spread = math.sqrt(max(var, 0.0))
    return mean, mean - Z_INTERVAL * spread, mean + Z_INTERVAL * spread


def rho_to_epsilon(rho: float, delta: float) -> float:
    """The epsilon of (epsilon, delta)-differential privacy that rho-zCDP implies, by OpenDP's
    conversion (tighter than rho + 2 sqrt(rho ln(1/delta)))."""
    if not rho > 0 or not 0 < delta < 1:
        raise ValueError("rho must be positive and delta in (0, 1)")
    space = dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float)
    meas = dp.c.make_zCDP_to_approxDP(dp.m.make_gaussian(*space, scale=1.0))
    profile = meas.map(math.sqrt(2.0 * rho))  # type: ignore[no-untyped-call]
    return float(profile.epsilon(delta))

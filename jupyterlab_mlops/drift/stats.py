"""Drift statistics, vectorised over whole columns (numpy/scipy, no per-row Python).

Numeric columns are compared on their *sorted* values: one merge of the sorted reference and the
sorted current column gives both empirical CDFs at every point of the union, from which the
two-sample Kolmogorov–Smirnov statistic and the Wasserstein-1 distance follow in a few vector
operations (scipy sorts and binary-searches the concatenated data once per statistic instead).
Results are the numbers scipy gives:

- :func:`ks_2samp_sorted` = ``scipy.stats.ks_2samp`` (statistic and p-value, ``method="auto"``:
  scipy's exact distribution when both samples have at most 10 000 values, otherwise Smirnov's
  asymptotic ``kstwo.sf(D, round(n·m/(n+m)))``, exactly as scipy decides);
- :func:`wasserstein_sorted` = ``scipy.stats.wasserstein_distance``; the *normed* distance divides
  it by the reference's standard deviation (``ddof=0``, floored at 0.001) like Evidently;
- :func:`chi2_counts` = ``scipy.stats.chi2_contingency`` on the 2 × k table (reference, current)
  × categories, Yates-corrected when it has one degree of freedom, as scipy does;
- :func:`jensenshannon_counts` = ``scipy.spatial.distance.jensenshannon`` (natural log) of the
  two category distributions;
- :func:`psi_counts`: Population Stability Index on reference bins, empty bins floored at 1e-4.

Every function returns NaN (never raises, never warns) where a statistic is undefined — an empty
side, for instance — and callers decide what that means.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special
from scipy.stats import distributions

from .methods import (  # noqa: F401 - re-exported: the methods are part of this API
    ALIASES,
    ALL_KINDS,
    FEW_UNIQUE_VALUES,
    METHODS,
    SMALL_SAMPLE_ROWS,
    Method,
    default_method,
    method_named,
)

# scipy's ks_2samp(method="auto") is exact up to this many values per sample.
KS_EXACT_MAX_N = 10_000
WASSERSTEIN_MIN_STD = 0.001
PSI_EPSILON = 1e-4


# -- numeric: KS and Wasserstein on sorted samples --------------------------------------------


def distinct_sorted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_counts=True)`` for already sorted values, in O(n)."""
    if values.size == 0:
        return values[:0], np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    return values[starts], np.diff(np.append(starts, values.size))


def ks_statistic_sorted(
    a: np.ndarray, b: np.ndarray, a_distinct: tuple[np.ndarray, np.ndarray] | None = None
) -> float:
    """max |F_a − F_b| over the union of both samples, evaluated only at ``a``'s distinct values.

    Between two consecutive distinct values of ``a``, F_a is constant and F_b only grows, so the
    extremes of F_a − F_b sit at a value of ``a`` (counts of b ≤ it) or just before the next
    one (counts of b < it): two binary searches of ``a``'s values into ``b`` instead of a merge.
    Each candidate is computed as scipy computes it (count / n), so D is the same number.
    """
    n_a, n_b = a.size, b.size
    values, counts = a_distinct if a_distinct is not None else distinct_sorted(a)
    cdf_a = np.cumsum(counts) / n_a
    below = np.searchsorted(b, values, side="left")  # counts of b < each value
    # Counts of b <= each value: the same, except at values b holds too (searched again).
    upto = below.copy()
    tied = np.flatnonzero(below < n_b)
    tied = tied[b[below[tied]] == values[tied]]
    upto[tied] = np.searchsorted(b, values[tied], side="right")
    at = cdf_a - upto / n_b
    before = np.concatenate(([0.0], cdf_a[:-1])) - below / n_b
    max_s = max(float(at.max()), float(before.max()), 0.0)  # 0: both CDFs reach 1 at the end
    min_s = min(max(-float(min(at.min(), before.min())), 0.0), 1.0)
    return min_s if min_s > max_s else max_s


def ks_pvalue(statistic: float, n_a: int, n_b: int) -> tuple[float, float]:
    """scipy's two-sided p-value for ``ks_2samp(method="auto")``; returns (statistic, p).

    In the exact range scipy rounds the statistic to a multiple of 1/lcm(n_a, n_b) and returns
    that rounded statistic; we do the same so both numbers agree.
    """
    from scipy.stats import _stats_py

    d = statistic
    if max(n_a, n_b) <= KS_EXACT_MAX_N:
        g = math.gcd(n_a, n_b)
        # scipy's own exact routine (private, so guarded: a missing one means asymptotic).
        exact = getattr(_stats_py, "_attempt_exact_2kssamp", None)
        if exact is not None and (n_a // g) < np.iinfo(np.int32).max / (n_b // g):
            with np.errstate(all="ignore"):
                success, d_exact, prob = exact(n_a, n_b, g, d, "two-sided")
            if success:
                return float(d_exact), float(np.clip(prob, 0, 1))
    m, n = sorted([float(n_a), float(n_b)], reverse=True)
    en = m * n / (m + n)
    prob = distributions.kstwo.sf(d, np.round(en))
    return float(d), float(np.clip(prob, 0, 1))


def ks_2samp_sorted(
    a: np.ndarray, b: np.ndarray, a_distinct: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[float, float]:
    """Two-sample KS on sorted, NaN-free samples: (statistic, p-value); NaNs if one is empty."""
    if a.size == 0 or b.size == 0:
        return math.nan, math.nan
    return ks_pvalue(ks_statistic_sorted(a, b, a_distinct), a.size, b.size)


def wasserstein_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """Wasserstein-1 distance of two sorted, NaN-free samples (NaN if one is empty).

    Computed on the quantile functions, W = ∫₀¹ |F_a⁻¹(t) − F_b⁻¹(t)| dt, which for sorted
    samples are step functions breaking at i/n_a and j/n_b. Those breakpoints are merged by
    arithmetic on an integer lattice (units of 1/(n_a·n_b)) — no search, no second sort.
    """
    n_a, n_b = a.size, b.size
    if n_a == 0 or n_b == 0:
        return math.nan
    total = n_a + n_b
    i = np.arange(n_a, dtype=np.int64)
    # Position of the a-break i·n_b among all breaks: i + #(b-breaks j·n_a < i·n_b).
    positions = i * n_b
    positions += n_a - 1
    positions //= n_a
    positions += i
    starts = np.empty(total, dtype=np.int64)
    is_a = np.zeros(total, dtype=bool)
    is_a[positions] = True
    starts[positions] = i * n_b
    starts[~is_a] = np.arange(0, n_a * n_b, n_a, dtype=np.int64)
    del is_a, positions, i
    widths = np.diff(starts, append=np.int64(n_a) * n_b).astype(np.float64)
    gap = a[starts // n_b]
    gap -= b[starts // n_a]
    np.abs(gap, out=gap)
    gap *= widths
    return float(gap.sum() / (float(n_a) * float(n_b)))


def normed_wasserstein(distance: float, reference_std: float) -> float:
    """Evidently's normed Wasserstein: distance / max(std of the reference, 0.001)."""
    if not math.isfinite(distance):
        return math.nan
    return distance / max(reference_std, WASSERSTEIN_MIN_STD)


def _finite_sorted(values) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    values.sort()
    return values


def ks_2samp(reference, current) -> tuple[float, float]:
    """Convenience wrapper over unsorted data (missing values dropped)."""
    return ks_2samp_sorted(_finite_sorted(reference), _finite_sorted(current))


def wasserstein_distance(reference, current) -> float:
    return wasserstein_sorted(_finite_sorted(reference), _finite_sorted(current))


# -- binned and categorical -----------------------------------------------------------------


def _proportions(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros(counts.shape, dtype=np.float64)


def psi_counts(reference_counts, current_counts, epsilon: float = PSI_EPSILON) -> float:
    """PSI = Σ (c − r) · ln(c / r) over bins, proportions of empty bins floored at ``epsilon``."""
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    if ref.sum() == 0 or cur.sum() == 0:
        return math.nan
    r = np.maximum(_proportions(ref), epsilon)
    c = np.maximum(_proportions(cur), epsilon)
    return float(np.sum((c - r) * np.log(c / r)))


def chi2_counts(reference_counts, current_counts) -> tuple[float, float]:
    """``chi2_contingency([reference_counts, current_counts])``: (statistic, p-value).

    Categories absent from both sides must be dropped by the caller (scipy refuses zero
    expected frequencies). One category in total: no degrees of freedom, (0.0, 1.0) like scipy.
    """
    observed = np.vstack(
        [np.asarray(reference_counts, np.float64), np.asarray(current_counts, np.float64)]
    )
    row_totals = observed.sum(axis=1)
    if observed.shape[1] == 0 or np.any(row_totals == 0):
        return math.nan, math.nan
    column_totals = observed.sum(axis=0)
    keep = column_totals > 0
    observed, column_totals = observed[:, keep], column_totals[keep]
    dof = observed.shape[1] - 1
    if dof == 0:
        return 0.0, 1.0
    expected = np.outer(row_totals, column_totals) / observed.sum()
    if dof == 1:  # Yates' continuity correction, bounded by the difference (scipy gh-13875)
        diff = expected - observed
        observed = observed + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return statistic, float(distributions.chi2.sf(statistic, dof))


def jensenshannon_counts(reference_counts, current_counts) -> float:
    """Jensen–Shannon distance (natural log) between the two normalised count vectors."""
    p = np.asarray(reference_counts, dtype=np.float64)
    q = np.asarray(current_counts, dtype=np.float64)
    if p.sum() == 0 or q.sum() == 0:
        return math.nan
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2.0
    divergence = special.rel_entr(p, m).sum() + special.rel_entr(q, m).sum()
    return float(np.sqrt(max(divergence, 0.0) / 2.0))


def align_counts(
    reference: dict[str, int], current: dict[str, int]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Counts of both sides over the union of categories (reference order first)."""
    categories = list(reference)
    categories += [c for c in current if c not in reference]
    ref = np.fromiter((reference.get(c, 0) for c in categories), np.float64, len(categories))
    cur = np.fromiter((current.get(c, 0) for c in categories), np.float64, len(categories))
    return categories, ref, cur


def mean_shift_percent(reference_mean: float | None, current_mean: float | None) -> float:
    """(current − reference) / |reference| in %; NaN when either is missing or reference is 0."""
    if reference_mean is None or current_mean is None:
        return math.nan
    if not (math.isfinite(reference_mean) and math.isfinite(current_mean)):
        return math.nan
    if reference_mean == 0:
        return 0.0 if current_mean == 0 else math.nan
    return (current_mean - reference_mean) / abs(reference_mean) * 100.0

"""Each drift statistic against scipy, on random and adversarial data."""

import math
import warnings

import numpy as np
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from jupyterlab_mlops.drift import stats

TOL = 1e-9


def _close(a, b, tol=TOL):
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


SIZES = [(5, 7), (40, 40), (300, 1000), (999, 1001), (2000, 15000), (20000, 3000)]


@pytest.mark.parametrize("n1,n2", SIZES)
@pytest.mark.parametrize("kind", ["normal", "ints", "ties", "shifted"])
def test_ks_and_wasserstein_agree_with_scipy(n1, n2, kind):
    rng = np.random.default_rng(n1 * 7 + n2)
    if kind == "normal":
        a, b = rng.normal(size=n1), rng.normal(size=n2)
    elif kind == "ints":
        a, b = rng.integers(0, 50, n1), rng.integers(0, 60, n2)
    elif kind == "ties":
        a, b = rng.choice([0.0, 1.5, 2.0], n1), rng.choice([0.0, 1.5, 2.0, 3.0], n2)
    else:
        a, b = rng.lognormal(size=n1), rng.lognormal(0.3, 1.2, size=n2)
    expected = sps.ks_2samp(a, b)
    statistic, p_value = stats.ks_2samp(a, b)
    assert _close(statistic, expected.statistic)
    assert _close(p_value, expected.pvalue)
    assert _close(stats.wasserstein_distance(a, b), sps.wasserstein_distance(a, b))


def test_ks_exact_and_asymptotic_branches_both_match():
    rng = np.random.default_rng(3)
    for n1, n2 in [(10_000, 10_000), (10_001, 50), (120, 10_000)]:
        a, b = rng.normal(size=n1), rng.normal(0.02, 1, size=n2)
        expected = sps.ks_2samp(a, b)
        got = stats.ks_2samp(a, b)
        assert _close(got[0], expected.statistic) and _close(got[1], expected.pvalue)


def test_normed_wasserstein_is_evidentlys_definition():
    rng = np.random.default_rng(5)
    a, b = rng.normal(10, 3, 5000), rng.normal(11, 3, 8000)
    expected = sps.wasserstein_distance(a, b) / np.std(a)
    got = stats.normed_wasserstein(stats.wasserstein_distance(a, b), float(np.std(a)))
    assert _close(got, expected)
    # A constant reference: the norm is floored (0.001), never a division by zero.
    assert stats.normed_wasserstein(0.5, 0.0) == pytest.approx(500.0)


@pytest.mark.parametrize(
    "ref,cur",
    [
        ([10, 20], [15, 15]),  # 2x2: Yates-corrected like scipy
        ([10, 20, 3], [15, 15, 0]),
        ([500, 300, 200, 1], [480, 320, 150, 50]),
        ([7, 0, 9], [0, 4, 9]),
        ([1000, 1], [1, 1000]),
    ],
)
def test_chi_square_agrees_with_chi2_contingency(ref, cur):
    expected = sps.chi2_contingency(np.array([ref, cur]))
    statistic, p_value = stats.chi2_counts(ref, cur)
    assert _close(statistic, expected.statistic)
    assert _close(p_value, expected.pvalue)


def test_chi_square_random_tables():
    rng = np.random.default_rng(11)
    for _ in range(50):
        k = int(rng.integers(2, 12))
        ref, cur = rng.integers(1, 500, k), rng.integers(1, 500, k)
        expected = sps.chi2_contingency(np.array([ref, cur]))
        got = stats.chi2_counts(ref, cur)
        assert _close(got[0], expected.statistic) and _close(got[1], expected.pvalue)


def test_jensen_shannon_agrees_with_scipy():
    rng = np.random.default_rng(12)
    for _ in range(50):
        k = int(rng.integers(1, 15))
        ref, cur = rng.integers(0, 100, k), rng.integers(0, 100, k)
        ref[0] += 1
        cur[-1] += 1
        assert _close(stats.jensenshannon_counts(ref, cur), float(jensenshannon(ref, cur)))
    # New categories (zero in the reference) are fine.
    assert _close(
        stats.jensenshannon_counts([5, 5, 0], [1, 1, 8]), jensenshannon([5, 5, 0], [1, 1, 8])
    )


def test_psi_on_reference_bins():
    ref, cur = np.array([25, 25, 25, 25]), np.array([10, 20, 30, 40])
    r, c = ref / ref.sum(), cur / cur.sum()
    assert _close(stats.psi_counts(ref, cur), float(np.sum((c - r) * np.log(c / r))))
    assert stats.psi_counts(ref, ref) == 0.0
    # An empty bin is floored, not infinite.
    assert math.isfinite(stats.psi_counts([50, 50, 0], [30, 30, 40]))


def test_adversarial_inputs_give_defined_values_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        constant = np.full(200, 3.0)
        assert stats.ks_2samp(constant, constant) == (0.0, 1.0)
        expected = sps.ks_2samp(constant, np.full(300, 4.0))
        got = stats.ks_2samp(constant, np.full(300, 4.0))
        assert _close(got[0], expected.statistic) and _close(got[1], expected.pvalue)
        assert stats.wasserstein_distance(constant, constant) == 0.0
        # All missing on one side: undefined, NaN, no exception.
        empty = np.full(10, np.nan)
        assert all(math.isnan(v) for v in stats.ks_2samp(empty, constant))
        assert math.isnan(stats.wasserstein_distance(constant, empty))
        assert all(math.isnan(v) for v in stats.chi2_counts([0, 0], [3, 4]))
        assert math.isnan(stats.jensenshannon_counts([0, 0], [1, 1]))
        # One category on both sides: no degrees of freedom, like scipy.
        assert stats.chi2_counts([40], [60]) == (0.0, 1.0)
        assert stats.jensenshannon_counts([40], [60]) == 0.0
        # Booleans go in as numbers.
        a, b = np.array([True, False] * 50), np.array([True] * 80 + [False] * 20)
        expected = sps.ks_2samp(a.astype(float), b.astype(float))
        assert _close(stats.ks_2samp(a, b)[1], expected.pvalue)


def test_mean_shift_percent():
    assert stats.mean_shift_percent(10.0, 12.0) == pytest.approx(20.0)
    assert stats.mean_shift_percent(-10.0, -12.0) == pytest.approx(-20.0)
    assert stats.mean_shift_percent(0.0, 0.0) == 0.0
    assert math.isnan(stats.mean_shift_percent(0.0, 1.0))
    assert math.isnan(stats.mean_shift_percent(None, 1.0))


def test_default_method_choice_is_evidently_like():
    assert stats.default_method("numeric", 1000, 50).name == "ks"
    assert stats.default_method("numeric", 1001, 50).name == "wasserstein"
    assert stats.default_method("categorical", 500).name == "chisquare"
    assert stats.default_method("categorical", 5000).name == "jensenshannon"
    assert stats.default_method("boolean", 10).name == "chisquare"
    assert stats.default_method("numeric", 500, 3).name == "chisquare"  # few distinct values
    assert stats.default_method("numeric", 5000, 5).name == "jensenshannon"
    assert stats.method_named("KS").name == "ks"
    assert stats.method_named("chi2").name == "chisquare"
    with pytest.raises(Exception, match="unknown drift method 'nope'"):
        stats.method_named("nope")

"""The drift tests by name: which column kinds each applies to, its threshold, the defaults.

Kept apart from the statistics (``stats.py``, which loads scipy) so that validating a monitor's
configuration — "is ``t-test`` a method?" — costs no import of the numerical stack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InvalidInput


@dataclass(frozen=True)
class Method:
    """A drift test: which column kinds it applies to and how its threshold reads."""

    name: str
    label: str
    kinds: tuple[str, ...]
    # "p_value": drift when p < threshold; "distance": drift when statistic > threshold.
    decides_on: str
    threshold: float

    def is_drift(self, statistic: float, p_value: float, threshold: float | None = None) -> bool:
        limit = self.threshold if threshold is None else threshold
        value = p_value if self.decides_on == "p_value" else statistic
        if not math.isfinite(value):
            return False
        return value < limit if self.decides_on == "p_value" else value > limit


ALL_KINDS = ("numeric", "categorical", "boolean")
METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("ks", "Kolmogorov–Smirnov", ("numeric",), "p_value", 0.05),
        Method("wasserstein", "Wasserstein distance (normed)", ("numeric",), "distance", 0.1),
        Method("psi", "Population Stability Index", ALL_KINDS, "distance", 0.1),
        Method("chisquare", "Chi-square", ALL_KINDS, "p_value", 0.05),
        Method("jensenshannon", "Jensen–Shannon distance", ALL_KINDS, "distance", 0.1),
    )
}
ALIASES = {
    "kolmogorov_smirnov": "ks",
    "ks_2samp": "ks",
    "wasserstein_distance": "wasserstein",
    "wasserstein_distance_norm": "wasserstein",
    "normed_wasserstein": "wasserstein",
    "chi2": "chisquare",
    "chi_square": "chisquare",
    "chi2_contingency": "chisquare",
    "js": "jensenshannon",
    "jensen_shannon": "jensenshannon",
    "population_stability_index": "psi",
}

# Evidently's rule: up to this many reference rows a column is a "small sample" and is tested
# (KS / chi-square, p < 0.05); above it, a distance is used (normed Wasserstein / Jensen–Shannon
# > 0.1), because with many rows every tiny difference becomes "significant".
SMALL_SAMPLE_ROWS = 1000
# Numeric columns with at most this many distinct reference values are tested like categories.
FEW_UNIQUE_VALUES = 5


def method_named(name: str) -> Method:
    key = str(name).strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in METHODS:
        raise InvalidInput(
            f"unknown drift method {name!r}; choose one of {sorted(METHODS)}",
            code="unknown_method",
        )
    return METHODS[key]


def default_method(kind: str, n_reference_rows: int, n_unique: int | None = None) -> Method:
    """The default test of a column, Evidently-like (see ``SMALL_SAMPLE_ROWS``)."""
    small = n_reference_rows <= SMALL_SAMPLE_ROWS
    discrete = kind != "numeric" or (n_unique is not None and n_unique <= FEW_UNIQUE_VALUES)
    if discrete:
        return METHODS["chisquare" if small else "jensenshannon"]
    return METHODS["ks" if small else "wasserstein"]

"""How many companies the exercise needs: the half-width of kappa's interval for a sample size, and back.

Two heads who share a prevalence ``p`` of "good" and agree with kappa ``k``
fill, in expectation, the 2 x 2 table::

    good/good  p**2 + k p (1 - p)      good/not  (1 - k) p (1 - p)
    not/good   (1 - k) p (1 - p)       not/not   (1 - p)**2 + k p (1 - p)

Kappa's large-sample variance for ``n`` companies is ``V / n``, where ``V`` is
the variance statsmodels gives that table of shares (Fleiss, Cohen & Everitt
1969); the interval's half-width at ``level`` is ``z * sqrt(V / n)`` and the
sample that reaches a half-width ``h`` is ``ceil(z**2 V / h**2)``.

>>> plan = plan_sample(kappa=0.6, half_width=0.1, prevalence=0.3)
>>> plan["n"], round(kappa_half_width(100, kappa=0.6, prevalence=0.3), 2)
(296, 0.17)
"""

from __future__ import annotations

import math

import numpy as np

from leadsim.errors import DataError

__all__ = ["expected_table", "kappa_half_width", "plan_sample", "plan_text"]


def _check(kappa: float, prevalence: float, level: float) -> None:
    if not 0 < prevalence < 1:
        raise DataError(f"prevalence {prevalence!r} must lie strictly between 0 and 1 (the share of good leads, "
                        "e.g. 0.3)", where="prevalence")
    if not 0 < level < 1:
        raise DataError(f"level {level!r} must lie strictly between 0 and 1 (e.g. 0.95)", where="level")
    low = -min(prevalence, 1 - prevalence) / max(prevalence, 1 - prevalence)
    if not low <= kappa < 1:
        raise DataError(f"kappa {kappa!r} is not possible at prevalence {prevalence:g}: give a value from "
                        f"{low:.2f} to below 1 (e.g. 0.6)", where="kappa")


def expected_table(*, kappa: float, prevalence: float) -> np.ndarray:
    """The expected 2 x 2 table of shares (rows: head A good/not, columns: head B) for a kappa and a prevalence.

    >>> expected_table(kappa=0.6, prevalence=0.3).round(3).tolist()
    [[0.216, 0.084], [0.084, 0.616]]
    """
    _check(kappa, prevalence, 0.95)
    p, q = prevalence, 1 - prevalence
    off = (1 - kappa) * p * q
    return np.array([[p * p + kappa * p * q, off], [off, q * q + kappa * p * q]])


def _unit_variance(kappa: float, prevalence: float) -> float:
    """Kappa's variance times n for the expected table (statsmodels' large-sample variance, table of shares)."""
    from statsmodels.stats.inter_rater import cohens_kappa

    return float(cohens_kappa(expected_table(kappa=kappa, prevalence=prevalence))["var_kappa"])


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def kappa_half_width(n: int, *, kappa: float, prevalence: float, level: float = 0.95) -> float:
    """The half-width of kappa's interval at ``level`` that ``n`` companies give (in expectation)."""
    _check(kappa, prevalence, level)
    if n < 1:
        raise DataError(f"the sample needs at least 1 company, got {n}", where="n")
    return _z(level) * math.sqrt(_unit_variance(kappa, prevalence) / n)


def plan_sample(*, kappa: float, half_width: float, prevalence: float, level: float = 0.95,
                n: int = 100) -> dict[str, float]:
    """Companies needed for kappa's interval to reach ``half_width``, and the half-width ``n`` companies give.

    Returns ``n_needed`` (also as ``n``), ``half_width`` (asked),
    ``half_width_at_n`` and ``n_given`` (the ``n`` it was computed for).
    """
    _check(kappa, prevalence, level)
    if not 0 < half_width < 1:
        raise DataError(f"half-width {half_width!r} must lie between 0 and 1 (e.g. 0.1 for kappa +- 0.1)",
                        where="half_width")
    needed = math.ceil(_z(level) ** 2 * _unit_variance(kappa, prevalence) / half_width**2 - 1e-9)
    return {"n": needed, "n_needed": needed, "kappa": kappa, "prevalence": prevalence, "level": level,
            "half_width": half_width, "n_given": n,
            "half_width_at_n": kappa_half_width(n, kappa=kappa, prevalence=prevalence, level=level)}


def plan_text(plan: dict[str, float]) -> str:
    """The plan in one paragraph for people.

    >>> print(plan_text(plan_sample(kappa=0.6, half_width=0.1, prevalence=0.3)))
    To estimate a kappa of about 0.60 within ±0.10 (95 % interval) when about 30 % of the companies are good leads, sample 296 companies. 100 companies give about ±0.17.
    """
    return (f"To estimate a kappa of about {plan['kappa']:.2f} within ±{plan['half_width']:.2f} "
            f"({plan['level']:.0%} interval) when about {plan['prevalence']:.0%} of the companies are good leads, "
            f"sample {plan['n_needed']:,} companies. {plan['n_given']:,} companies give about "
            f"±{plan['half_width_at_n']:.2f}.").replace("%", " %")

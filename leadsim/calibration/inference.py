"""A nearly unpenalised logistic fit with Wald intervals: the one place leadsim computes them.

Used for the response-delay association (:mod:`leadsim.calibration.delay`)
and for the effect of each rule discovery proposes
(:mod:`leadsim.calibration.discovery`).  The standard errors come from the
inverse Fisher information at the fitted coefficients (a pseudo-inverse, so
a column that never varies gives an interval instead of an error).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(5000, 1))
>>> y = rng.random(5000) < 1 / (1 + np.exp(-(0.5 + 1.0 * x[:, 0])))
>>> fit = logit_wald(x, y)
>>> bool(abs(fit.coef[0] - 1.0) < 0.15), bool(fit.low[0] < 1.0 < fit.high[0])
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Z95", "WaldFit", "logit_wald"]

#: The 97.5 % point of the standard normal: 95 % two-sided intervals.
Z95 = 1.959963984540054


@dataclass
class WaldFit:
    """Coefficients (without the intercept), their standard errors and 95 % intervals, on the log-odds scale."""

    intercept: float
    coef: np.ndarray
    se: np.ndarray
    model: object

    @property
    def low(self) -> np.ndarray:
        return self.coef - Z95 * self.se

    @property
    def high(self) -> np.ndarray:
        return self.coef + Z95 * self.se


def logit_wald(X, y, *, sample_weight=None, C: float = 1e6) -> WaldFit:
    """Logistic regression of ``y`` on the columns of ``X`` (plus an intercept) with Wald standard errors.

    ``C`` is scikit-learn's inverse L2 strength: the default ``1e6`` is
    practically unpenalised.  ``sample_weight`` weights the fit and the
    information matrix alike.
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    with threadpool_limits(limits=1):
        m = LogisticRegression(C=C, solver="newton-cholesky", max_iter=500).fit(X, y, sample_weight=w)
    X1 = np.column_stack([np.ones(len(X)), X])
    p = m.predict_proba(X)[:, 1]
    info = X1.T @ (X1 * (w * p * (1 - p))[:, None])
    cov = np.linalg.pinv(info)
    se = np.sqrt(np.clip(np.diag(cov)[1:], 0.0, None))
    return WaldFit(intercept=float(m.intercept_[0]), coef=np.asarray(m.coef_[0], dtype=float), se=se, model=m)

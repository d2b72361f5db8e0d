"""The response-delay association, in plain and non-causal words.

Response delay is not a property of the lead, so it never becomes points;
but sales and marketing want to know how it goes with the outcome.  A
logistic regression of SQL on ``log1p(response minutes)``, adjusted for the
owner, the lead's source and its (revised) score, gives the odds ratio
between answering within ``fast`` and within ``slow`` minutes, with a Wald
95 % interval (nearly unpenalised fit; the interval from the inverse Fisher
information).  It is an association among the hand-offs as they happened:
fast answers may go to leads that differ in ways the score does not see.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> n = 4000
>>> minutes = rng.lognormal(3, 1.5, n)
>>> score = rng.normal(50, 20, n)
>>> eta = -1 - 0.3 * np.log1p(minutes) + 0.03 * (score - 50)
>>> y = rng.random(n) < 1 / (1 + np.exp(-eta))
>>> d = response_delay_effect(pd.DataFrame({"response_minutes": minutes, "score": score}), y)
>>> round(d["odds_ratio"], 1), d["low"] < 2.46 < d["high"]   # true: exp(0.3 * ln(121 / 6)) = 2.46
(2.4, True)
>>> d["text"].startswith("Answering within 5 minutes instead of 2 hours is associated with")
True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from leadsim.calibration.inference import Z95 as _Z95
from leadsim.calibration.inference import logit_wald

__all__ = ["response_delay_effect"]


def _words(minutes: float) -> str:
    if minutes >= 60 and minutes % 60 == 0:
        h = int(minutes // 60)
        return f"{h} hour{'s' if h != 1 else ''}"
    return f"{minutes:g} minute{'s' if minutes != 1 else ''}"


def response_delay_effect(table: pd.DataFrame, y, *, fast: float = 5.0, slow: float = 120.0,
                          adjust: tuple[str, ...] = ("owner", "source", "score")) -> dict[str, Any] | None:
    """Odds ratio of SQL for an answer within ``fast`` instead of ``slow`` minutes, adjusted for ``adjust``.

    ``table`` has ``response_minutes`` and whichever ``adjust`` columns exist
    (categories one-hot, numbers standardised); rows without a response time
    are left out.  Returns ``None`` when fewer than 50 rows or one class
    remain; else ``odds_ratio``, ``low``, ``high``, ``coef`` (per e-fold of
    ``1 + minutes``), ``n``, ``adjusted_for`` and ``text``.
    """
    if "response_minutes" not in table:
        return None
    rm = pd.to_numeric(table["response_minutes"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    y = np.asarray(y, dtype=float)
    ok = ~np.isnan(rm) & (rm >= 0)
    if ok.sum() < 50 or len(np.unique(y[ok])) < 2:
        return None
    cols = [np.log1p(rm[ok])]
    used = []
    for c in adjust:
        if c not in table:
            continue
        v = table[c].to_numpy()[ok]
        if pd.api.types.is_numeric_dtype(table[c]):
            x = pd.to_numeric(pd.Series(v), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            x = np.where(np.isnan(x), np.nanmean(x) if (~np.isnan(x)).any() else 0.0, x)
            sd = x.std()
            cols.append((x - x.mean()) / (sd if sd > 0 else 1.0))
        else:
            d = pd.get_dummies(pd.Series(v, dtype=object).fillna("(missing)"), drop_first=True, dtype=float)
            cols += [d[k].to_numpy() for k in d.columns]
        used.append(c)
    fit = logit_wald(np.column_stack(cols), y[ok])
    b, se = float(fit.coef[0]), float(fit.se[0])
    dx = math.log1p(fast) - math.log1p(slow)
    lo, hi = sorted((math.exp((b - _Z95 * se) * dx), math.exp((b + _Z95 * se) * dx)))
    ratio = math.exp(b * dx)
    adj = ", ".join(used[:-1]) + (" and " if len(used) > 1 else "") + used[-1] if used else "nothing"
    text = (f"Answering within {_words(fast)} instead of {_words(slow)} is associated with {ratio:.2f} times the "
            f"odds of an SQL, adjusted for {adj}; 95% interval [{lo:.2f}, {hi:.2f}] over {int(ok.sum()):,} "
            "hand-offs. This is an association in past hand-offs, not a measured effect of answering faster.")
    return {"odds_ratio": ratio, "low": lo, "high": hi, "coef": b, "fast_minutes": fast, "slow_minutes": slow,
            "n": int(ok.sum()), "adjusted_for": used, "text": text}

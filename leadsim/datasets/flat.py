"""A small flat lead export with known bins and categories (one row per lead, a converted flag).

:func:`make_flat_export` draws ``n`` leads with form fields and aggregated
web behaviour and a ``converted`` flag from a known logistic model:

* ``company_size`` (log-normal, median 120): +0.8 log-odds from 200
  employees, +0.8 more from 1,000 (edges 200 and 1000);
* ``time_on_site`` (minutes, exponential with mean 8): +1.2 from 10 minutes;
* ``industry``: software and finance +0.9, education -1.2, the others 0;
* ``lead_origin``: noise (no effect); ``page_views`` noise too;
* ``how_heard``: 30 % "Select" (the form's default: not chosen), else one of
  four channels, no effect;
* ``lead_status``: set by sales after the outcome (a leak: "Closed" for
  converted leads, else "Open" or "Closed" at random).

The truth is in :attr:`FlatExport.edges` and :attr:`FlatExport.levels`.

>>> f = make_flat_export(n=500, seed=0)
>>> list(f.table.columns)[:4], f.table["converted"].isin([0, 1]).all()
(['lead_number', 'company_size', 'time_on_site', 'page_views'], np.True_)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["FlatExport", "make_flat_export"]

INDUSTRIES = ("software", "finance", "manufacturing", "retail", "healthcare", "education", "public")


@dataclass
class FlatExport:
    """The export and the truth behind it."""

    table: pd.DataFrame
    edges: dict[str, list[float]] = field(default_factory=dict)
    levels: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)


def make_flat_export(n: int = 4000, *, seed: int | np.random.Generator | None = 0) -> FlatExport:
    """A flat export of ``n`` leads (see the module docstring); the same seed gives the same table."""
    rng = np.random.default_rng(seed)
    size = np.clip(np.round(np.exp(rng.normal(np.log(120), 1.4, n))), 1, 5000)
    minutes = np.round(np.clip(rng.exponential(8.0, n), 0, 40), 1)
    views = rng.poisson(4, n)
    industry = rng.choice(INDUSTRIES, n, p=[0.18, 0.12, 0.2, 0.15, 0.15, 0.1, 0.1])
    origin = rng.choice(["Landing Page", "API", "Import", "Chat"], n)
    heard = rng.choice(["Select", "Search", "Social", "Event", "Referral"], n, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    eta = (-1.6 + 0.8 * (size >= 200) + 0.8 * (size >= 1000) + 1.2 * (minutes >= 10)
           + 0.9 * np.isin(industry, ["software", "finance"]) - 1.2 * (industry == "education"))
    converted = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    status = np.where(converted == 1, "Closed", rng.choice(["Open", "Closed"], n, p=[0.95, 0.05]))
    table = pd.DataFrame({
        "lead_number": [f"F{660000 + i}" for i in range(n)], "company_size": size, "time_on_site": minutes,
        "page_views": views, "industry": industry, "lead_origin": origin, "how_heard": heard,
        "lead_status": status, "converted": converted,
    })
    return FlatExport(
        table=table,
        edges={"company_size": [200.0, 1000.0], "time_on_site": [10.0]},
        levels={"industry": {"higher": ["finance", "software"], "lower": ["education"]}},
        ranges={"company_size": (1.0, 5000.0), "time_on_site": (0.0, 40.0)},
    )

"""The simulation's MQL moments (leadsim.simulation.moments) and the engine's short paths, against plain references."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsim import load_definition
from leadsim.scoring import mql_events
from leadsim.scoring.mql import segment_cumsum
from leadsim.simulation.moments import Moments
from leadsim.simulation.stream import Stream

DAY = 86_400 * 10**9
START = pd.Timestamp("2026-01-05")
KINDS = [("web_visit", "/pricing"), ("web_visit", "/"), ("form_fill", "free_trial"), ("form_fill", "contact_us"),
         ("webinar", None), ("live_demo", None), ("content_download", "e-book"), ("unsubscribe", None)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(-60, 60), st.booleans()), min_size=1, max_size=300))
def test_short_segment_cumsum_is_pandas_groupby_cumsum(values):
    v = np.exp2([x for x, _ in values])  # wide magnitudes: the rounding compensation matters
    new = np.array([True] + [b for _, b in values[1:]])
    seg = np.cumsum(new) - 1
    want = pd.Series(v).groupby(seg).cumsum().to_numpy()
    assert np.array_equal(segment_cumsum(v, new, seg), want)


@st.composite
def histories(draw):
    n_leads = draw(st.integers(1, 3))
    n = draw(st.integers(0, 30))
    rows = draw(st.lists(st.tuples(st.integers(0, n_leads - 1), st.integers(0, 60 * 24), st.sampled_from(KINDS)),
                         min_size=n, max_size=n))
    fit = np.array(draw(st.lists(st.sampled_from([0.0, 20.0, 45.0, 70.0, 95.0]), min_size=n_leads,
                                 max_size=n_leads)))
    lead = draw(st.integers(0, n_leads - 1))
    recycle_h = draw(st.integers(1, 60 * 24))
    return n_leads, rows, fit, lead, recycle_h


@settings(max_examples=60, deadline=None)
@given(histories())
def test_at_a_recycle_is_mql_events_at_that_moment(history):
    """``Moments.at`` (the lead's MQL at its recycle, on its whole history) against mql_events on the tables."""
    n_leads, rows, fit, lead, recycle_h = history
    d = load_definition().model_copy(update={"on_recycle": "keep"})
    hour = DAY // 24
    t = np.array([h * hour for _, h, _ in rows], np.int64)
    cols = {"lead": np.array([r[0] for r in rows], np.int64), "t": t,
            "activity": np.array([k[0] for *_, k in rows], object), "detail": np.array([k[1] for *_, k in rows], object),
            "nurture": np.zeros(len(rows), bool), "pick": np.zeros(len(rows))}
    created = np.zeros(n_leads, np.int64)
    # no lead matches a fit rule the gates exclude (student, competitor): the fit points are drawn, not computed
    m = Moments(d, Stream(cols, n_leads, {}), fit, created, START, 70 * DAY, 7 * DAY,
                fit_fired=np.zeros((2, n_leads), bool))
    t_rec = recycle_h * hour
    m.recycled(lead, "lead", 0, t_rec)
    got = m.at(lead, t_rec)

    ids = [f"L{i}" for i in range(n_leads)]
    mine = cols["lead"] == lead
    acts = pd.DataFrame({"lead_id": [f"L{lead}"] * int(mine.sum()), "activity": cols["activity"][mine],
                         "at": START + pd.to_timedelta(t[mine], "ns"), "detail": cols["detail"][mine]})
    leads = pd.DataFrame({"lead_id": ids, "created_at": [START] * n_leads, "seniority": None, "email": None})
    stage_log = pd.DataFrame({"lead_id": [f"L{lead}"] * 2, "stage": ["lead", "target"],
                              "at": [START, START + pd.Timedelta(t_rec, "ns")]})
    ev = mql_events(leads, acts, d, as_of=START + pd.Timedelta(t_rec, "ns"), stage_log=stage_log, fit_points=fit)
    ev = ev[ev["at"] == START + pd.Timedelta(t_rec, "ns")]
    want = [(r.reason, None if pd.isna(r.trigger) else r.trigger, r.score) for r in ev.itertuples()]
    assert got == want
    # and the path for many leads (old moments folded, then recomputed) finds the same
    _, t_ev, reason, trigger, score = m._folded(np.array([lead]), t_rec + 1, np.array([t_rec]))
    now = t_ev == t_rec
    assert [(r, g, float(s)) for r, g, s in zip(reason[now], trigger[now], score[now], strict=True)] == want

"""The simulation's activity stream: row bookkeeping checked against plain Python over the same rows."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from leadsim.simulation.stream import Stream

OFFERS = {"name": ["newsletter", "blog digest"], "lead": ["buyer's guide", "ROI calculator", "data sheet"],
          "customer": []}


@st.composite
def streams(draw):
    n_leads = draw(st.integers(1, 6))
    n = draw(st.integers(0, 40))
    lead = np.array(draw(st.lists(st.integers(0, n_leads - 1), min_size=n, max_size=n)), np.int64)
    t = np.array(draw(st.lists(st.integers(0, 50), min_size=n, max_size=n)), np.int64)
    act = np.array(draw(st.lists(st.sampled_from(["web_visit", "email_click", "webinar"]), min_size=n, max_size=n)),
                   object)
    nurture = (act == "email_click") & np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
    pick = np.array(draw(st.lists(st.floats(0, 0.999), min_size=n, max_size=n)), float)
    cols = {"lead": lead, "t": t, "activity": act, "detail": np.full(n, None, object), "nurture": nurture,
            "pick": pick}
    return Stream(cols, n_leads, OFFERS), cols, n_leads


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_rows_silence_and_offers_agree_with_plain_python(data):
    s, cols, n_leads = data.draw(streams())
    rows = list(zip(cols["lead"].tolist(), cols["t"].tolist(), range(len(cols["t"])), strict=True))
    # rows are grouped by lead, in time order
    assert [(s.lead[k], s.t[k]) for k in range(len(s))] == sorted((lead, t) for lead, t, _ in rows)
    # ... and rows at the same moment keep their input order (what each row carries moves with it)
    assert s.pick.tolist() == [cols["pick"][k] for _, _, k in sorted(rows)]
    assert s.nurture.tolist() == [bool(cols["nurture"][k]) for _, _, k in sorted(rows)]
    leads = np.array(data.draw(st.lists(st.integers(0, n_leads - 1), unique=True)), np.int64)
    got = s.rows_of(leads).tolist()
    assert got == [k for i in leads for k in range(len(s)) if s.lead[k] == i]
    # silencing: rows strictly inside (after, before) go, the rest stay
    cuts = data.draw(st.lists(st.tuples(st.integers(0, n_leads - 1), st.integers(-1, 50), st.integers(0, 52)),
                              max_size=4))
    for lead, after, before in cuts:
        s.silence(lead, after, before)
    live = [not any(lead == c[0] and c[1] < s.t[k] < c[2] for c in cuts) for k in range(len(s))
            for lead in [s.lead[k]]]
    t0, t1 = sorted(data.draw(st.lists(st.integers(0, 51), min_size=2, max_size=2)))
    assert s.epoch_rows(t0, t1).tolist() == [k for k in range(len(s)) if live[k] and t0 <= s.t[k] < t1]
    assert s.live.tolist() == live
    # offers: a click takes the offer its pick chooses among its stage's; a stage without offers drops it
    clicks = np.flatnonzero(s.nurture & s.live)
    stages = np.array(data.draw(st.lists(st.sampled_from(list(OFFERS)), min_size=len(clicks),
                                         max_size=len(clicks))), object)
    s.resolve(clicks, stages)
    names = s.detail_names()
    for k, stage in zip(clicks.tolist(), stages.tolist(), strict=True):
        offers = OFFERS[stage]
        if offers:
            assert s.live[k] and names[s.det[k]] == offers[int(s.pick[k] * len(offers))]
        else:
            assert not s.live[k]
    # ids whose order is not the leads' order: the table still sorts by time, then id
    table = s.table(np.array([f"L{n_leads - i}" for i in range(n_leads)]), np.datetime64("2026-01-05", "ns"))
    assert len(table) == int(s.live.sum())
    assert list(zip(table["at"], table["lead_id"], strict=True)) == sorted(zip(table["at"], table["lead_id"],
                                                                               strict=True))

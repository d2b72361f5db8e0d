"""Explainable, vectorised lead scoring.

``score`` gives a snapshot per lead at ``as_of``; ``contributions`` the points
of every rule (``score == contributions.sum(axis=1)``); ``explain`` the top
factors of one lead; ``mql_events`` the moments leads became MQLs.  No
function loops over leads in Python: rules are evaluated column-wise with
numpy (lead positions as integer codes, ``np.bincount``) and text tests run
once per *distinct* value, then are mapped back through the codes.

The package: :mod:`leadsim.scoring.inputs` reads the tables into arrays and
evaluates the fit and BANT conditions; :mod:`leadsim.scoring.snapshot` holds
``score``, ``contributions``, ``explain``, ``required_columns`` and
``rule_matches``; :mod:`leadsim.scoring.mql` is the engine behind
``mql_events`` (also called by the simulation).  Import the public names from
``leadsim.scoring``.

Semantics
---------
Conditions (fit rules, BANT) follow :class:`leadsim.definition.Condition`:
a missing value never matches, negated or not, except ``exists``; ``contains``
and ``regex`` are case-insensitive searches; ``range`` is ``min <= x < max``
and ``between`` ``min <= x <= max``; ``eq``/``ne``/``in``/``not_in`` compare
category and text values as strings (exactly), numbers as numbers.
``negate`` inverts a test on a present value.  ``range``/``between`` on a
``date`` attribute are not supported (a :class:`DefinitionError`).

* fit score = fit-rule points + BANT points (``bant_<fact>`` rules);
  behaviour score = behaviour-rule points; score = fit + behaviour.
* A behaviour rule counts activities with a matching name and detail (a
  missing detail never matches a detail filter) at ``as_of - window_days < at
  <= as_of`` (no window: everything up to ``as_of``).  ``each``: every
  occurrence weighs ``0.5 ** (age_days / half_life_days)`` (no half-life: 1),
  ``raw = points * sum(weights)``, contribution ``sign(points) * min(|raw|,
  cap)`` (no cap: ``raw``).  ``at_least``: ``points`` once when the count is
  at least ``min_count``.  ``recency``: ``points`` once when an occurrence
  lies in the window.
* ``on_recycle: restart`` with a stage log: activities at or before the
  lead's last recycle (a move from a ``funnel.recycle.from`` stage to
  ``funnel.recycle.to``) at or before ``as_of`` are ignored, by behaviour
  rules and hot triggers alike.  ``keep`` or no stage log: no effect.
* grade: the first fit band (best first) whose lower bound is at or below the
  fit score, the last band catches the rest; engagement likewise on the
  behaviour score; ``segment = thresholds.matrix[grade + engagement]`` (NA
  when absent).
* is_hot: a hot-trigger activity in ``(as_of - window_days, as_of]``;
  ``hot_reason`` the label of the first such trigger in definition order.
  is_mql: ``score >= thresholds.mql`` or is_hot.
* Every comparison of points with a bound (threshold, grade and engagement
  bands, star percentiles, flame bands) allows
  :data:`leadsim.points.POINTS_TOLERANCE` (a millionth of a point), so float
  noise never flips a lead from one machine to the next; ``explain`` orders
  equal points by rule id.
* priority (Marketo-style stars, dynamic): with ``p, q`` the
  ``priority_percentiles`` of the scores of the leads scored (linear
  interpolation), ``1 + (score > p) + (score > q)``.
* urgency (flames): gain ``behaviour(as_of) - behaviour(as_of -
  urgency.window_days)``, the number of ``urgency.bands`` at or below it (0-3).
* Leads without activities score their fit only.  Activities (or stage-log
  rows) for unknown lead ids raise :class:`DataError`; a missing column
  :class:`SchemaError`.  ``as_of`` may be a string; tz-aware times are
  converted to the definition's calendar zone and made naive.
* ``mql_events``: per lead, the moments checked are the creation time, every
  recycle and every activity time (an activity before creation counts at
  creation) up to ``as_of``.  The lead is an MQL at a moment when the snapshot
  above says ``is_mql`` at that moment; an *event* is the first such moment of
  each episode (the episode count is the number of recycles at or before the
  moment, so each recycle starts a new episode).  ``reason`` is ``"hot"`` when
  a hot trigger is active then (``trigger`` = its id), else ``"score"``.

>>> import pandas as pd
>>> from leadsim import load_definition
>>> d = load_definition()
>>> leads = pd.DataFrame({"lead_id": ["L1", "L2"], "seniority": ["vp", "student"],
...                       "company_size": [500, None]})
>>> leads = leads.reindex(columns=required_columns(d)["leads"])  # other attributes missing
>>> acts = pd.DataFrame({"lead_id": ["L1", "L1"], "activity": ["web_visit", "form_fill"],
...                      "at": pd.to_datetime(["2026-03-01", "2026-03-02"]),
...                      "detail": ["/pricing", "free_trial"]})
>>> s = score(leads, acts, d, as_of="2026-03-02")
>>> s[["fit_score", "behaviour_score", "score", "grade", "is_mql", "hot_reason"]]
         fit_score  behaviour_score      score grade  is_mql       hot_reason
lead_id
L1            45.0        65.468647  110.468647     B    True  Free-trial form
L2           -40.0         0.000000  -40.000000     D   False             <NA>
>>> c = contributions(leads, acts, d, as_of="2026-03-02")
>>> bool((c.sum(axis=1) == s["score"]).all())
True
>>> explain(c, d, lead_id="L1", n=2)[["rule_id", "points"]]
       rule_id  points
0   free_trial    50.0
1  senior_exec    25.0
"""

from leadsim.scoring.mql import mql_events
from leadsim.scoring.snapshot import SCORE_COLUMNS as SCORE_COLUMNS
from leadsim.scoring.snapshot import contributions, explain, required_columns, rule_matches, score

__all__ = ["contributions", "explain", "mql_events", "required_columns", "rule_matches", "score"]

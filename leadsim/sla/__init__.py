"""Hand-off SLA clocks: what each hand-off would get, and what actually fired.

A clock of the definition (``definition.sla.clocks``) starts when a lead
*enters* its ``stage`` (a hand-off) and climbs its ``levels``; level ``i`` is
due ``offset`` days/hours/minutes after the start, on the business calendar
(``docs/design.md``, "Time"):

- ``unit: days``: "day N" is the same local time N working days later; a
  clock started outside working hours starts at the next opening (so day 0
  of a Saturday hand-off is Monday at opening);
- ``unit: hours``/``minutes``: working time, unless ``wall_clock: true``
  (then plain elapsed time from the hand-off itself).

What stops a clock (``stop_on``):

- ``touch``: the first row of the touches table on the lead at or after the
  start that counts: a touch by the owner who held the lead when it was
  made (the owner of the lead's last stage-log row at or before it, so a
  re-assignment row hands the clock to the new owner), a touch while nobody
  held the lead, or a touch whose ``by`` is missing;
- ``leave_stage``: the lead's next move out of the stage;
- ``recycle``: the lead's next recycle move (Lead/Sales Lead -> Target);
- a stage id: the lead's next entry into that stage.

A clock also ends when its lead enters the clock's stage again: the new
hand-off starts a fresh clock.  **Tie rule:** a level fires only when its due
time is strictly before the stop; a stop event exactly at the due time stops
it (a touch at Monday 16:00 prevents the Monday 16:00 reminder).  In an audit,
a level also fires only when its due time is at or before ``as_of`` (default:
the latest time in the stage log and touches).

Who holds a lead: the owner of its last stage-log row at or before a moment.
A row with the lead's current stage and another owner is a re-assignment (an
escalation to a free rep writes one), not a new hand-off.

Recipients: ``owner`` (the owner holding the lead when the level is due, or
the queue of the clock's stage, e.g. ``lead-queue``, when nobody does),
``manager`` (that owner's manager in the ``owners`` table; left out when
unknown), ``leadership`` (``definition.sla.leadership``); any other name
passes through.  Messages fill the level's template with
``owner, lead, company, score, source, days, stage, clock, level`` (``days``:
the level's offset in days, calendar days for a wall clock; ``score``: the
hand-off's score when a score history is given, else the lead's), numbers
in the definition's language (``1,5`` in German).

The rules themselves (due times, stop and tie rule, recipients, messages)
live once in :mod:`leadsim.sla.ladder`; the simulation calls the same
functions during a run, so its alerts are the audit's alerts of its log.

>>> import pandas as pd
>>> from leadsim import load_definition
>>> d = load_definition()
>>> h = pd.DataFrame({"lead_id": ["L1"], "stage": ["Sales Lead"],
...                   "at": [pd.Timestamp("2026-03-06 16:00")], "owner": ["ana"]})   # a Friday
>>> s = schedule(h, d)
>>> s.loc[s["clock"] == "touch", ["level", "due_at"]].astype(str).values.tolist()
[['0', '2026-03-06 16:00:00'], ['1', '2026-03-09 16:00:00'], ['2', '2026-03-10 16:00:00'], ['3', '2026-03-11 16:00:00']]
>>> s["message"].iloc[1]
'Untouched Sales Lead! L1 (–) is 1 day(s) old.'
"""


from leadsim.sla.audit import AuditResult, audit, handoffs_from_log, schedule

__all__ = ["AuditResult", "audit", "handoffs_from_log", "schedule"]

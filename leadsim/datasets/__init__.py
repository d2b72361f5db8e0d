"""Synthetic lead histories with a known ground truth, and the shipped sample.

:func:`make_history` builds the six tables of ``docs/design.md`` section 2.2
("The six input tables": leads, activities, stage log, touches, owners,
outcomes) plus the
:class:`~leadsim.datasets.truth.GroundTruth` of who becomes an SQL;
:func:`load_sample` reads the embedded sample (20,000 leads, 2025-01-01 to
2026-10-31, seed 2026) from Parquet in well under two seconds.

>>> from leadsim import load_definition
>>> h = make_history(load_definition(), n_leads=300, start="2025-01-01", end="2025-07-01", seed=1)
>>> sorted(h.tables())
['activities', 'leads', 'outcomes', 'owners', 'stage_log', 'touches']
>>> h.leads["lead_id"].is_unique, set(h.owners["role"]) == {"sdr", "rep"}
(True, True)

Generative model
----------------
All randomness comes from one ``numpy.random.default_rng(seed)``; the same
arguments give identical tables.  Times are naive local times of the
definition's calendar.

*Owners.* 3 SDRs in two teams and 4 reps in three regional teams (DACH,
North = Nordics/Benelux, International), each team with a manager (``sdrs``
and ``reps`` set the team).  Every SDR has a personal speed factor ``exp(N(0,
0.5))``.  Touches carry ``duration_minutes`` (exponential: calls 10, e-mails
5, meetings 45).  An SDR works the hand-offs of its own queue one at a time,
in working time: the first call plus ``sdr_work_minutes`` (80) of research,
notes and e-mails, all logged on the first touch; the qualifying talk,
``qualify_minutes``, sits on the SDR's last touch before a qualification.
Three SDRs are busy a little under half their shift on average and most of it in the
weeks after a trade-fair upload.

*Leads.* Sources web_form 30%, paid 20%, organic 27%, event 15%, outbound 8%.
Creation days follow a weekday pattern (weekends 0.3x), months (July 0.75x,
August 0.6x, December 0.65x and late December halved again, the calendar's
public holidays 0.35x)
and a gentle upward trend; hours of day peak in office hours.  Event leads
arrive in batch uploads (about 8 trade fairs a year, every name of one fair
with the same timestamp, on a weekday morning; stage-log reason ``import``).
About 0.6 companies per lead are drawn first, so colleagues share firmographics:
``company_size`` log-normal (median 70), ``revenue_musd = size * exp(N(log
0.16, 0.6))``, ``subsidiaries`` negative-binomial growing with size, an ERP
in ``products_in_use`` more likely for larger firms; bigger companies send
more leads.  People: seniority (6% c-level, 6% VP, 12% director, 28% manager,
42% individual, 6% students), years of experience by seniority, job titles
from function x seniority, e-mail at the company domain or (16%; 70% of
students) a private domain (gmail, gmx ...), students partly at a university
domain, 1.2% competitors at ``@rivalsoft.com``/``@crmcorp.com``.  Missing
values: job_title 4%, seniority 5%, years 20%, e-mail 2%, size 8%, industry
6%, region 3%, revenue 25%, subsidiaries 30%, products 30%.  ``gender`` and
``age_band`` are drawn independently of everything else and have **no**
effect anywhere.  ``deal_size_eur`` (recorded after hand-off) is filled only
for leads that reached an SDR or a rep.

*Intent.* Each lead has a hidden intent ``u = N(0,1) + 0.25 * fitness - 1.2 *
student - 1.5 * competitor`` (fitness: log size and seniority).  BANT facts are
mostly ``unknown``; known ones are positive more often with higher ``u``.
About 4% (10% of individuals and students) are job seekers whose visits go to
``/careers``.

*Activities.* Browsing sessions ``Poisson(2.0 * exp(0.7 u) * source factor)``
(web form 1.2, organic 1.1, paid 0.9, event 0.6, outbound 0.4) spread over a
lifetime ``5 + Exp(180 days)`` (front-loaded, Beta(0.7, 1.6)); with
probability ``logistic(-3.6 + 1.5 u)`` a buying burst of ``2 + Poisson(2 +
1.5 max(u, 0))`` sessions, each ``Exp(3 days)`` (at most 10) after a start
``Exp(35 days)`` after creation.  Sessions hold ``1 + Poisson(0.7)`` (bursts
``1 + Poisson(1.6)``) activities minutes apart.  Bursts favour /pricing,
price lists and data sheets, demos and contact/free-trial forms; browsing
rarely reaches a hot trigger.  Most weekend sessions move to Monday, sessions
thin in summer, late December and on holidays; webinars run Thursdays 11:00,
the live demo Wednesdays 15:00, in-depth demos in office hours.  Web-form
leads start with their form fill (contact/trial form with ``logistic(-3.8 +
1.1 u)``, else newsletter or gated content), paid and organic leads with a
landing-page visit.  After a hand-off the SDR conversation serves the burst:
90% of burst activity in the following 30 days does not happen.

*Marketing.* Leads enter at ``name`` (gated-content web-form leads at
``active``); ``name -> active`` at the first deeper interaction, ``active ->
target`` at the next activity (reason ``progression``).  MQL moments come from
:func:`leadsim.scoring.mql_events` with the given definition.  Marketing
disqualifies 70% of competitors and 40% of students within 1-20 days unless
they became MQLs first.  Exploration: for each Target lead one of its
activities before any MQL is picked at random, and with probability
``params["exploration"]`` (5%) the lead is handed over there (reason
``exploration``, ``propensity`` 0.05; score and hot hand-offs have 1).

*SDRs.* An MQL moves to ``lead`` (reason score/hot) with a random SDR.  First
touch: a queue per SDR in working time: ``speed * exp(N(log 12, 1.1))``
working minutes (x0.6 for hot leads), 6% forgotten for 1-5 working days,
never before the SDR's previous touch plus ``Exp(20)`` minutes of handling.
``response_minutes`` is the wall-clock delay.  After 0.5-4 working days the
SDR decides: SQL with the truth's probability
(:mod:`leadsim.datasets.truth`), then ``sales_lead`` (reason ``qualified``,
a rep of the lead's regional team); otherwise disqualify (85% for students and
competitors, else 30%) or recycle to ``target``.  Exit rows carry a reason id
of the definition's vocabulary (disqualify: student, competitor, else no_fit,
invalid_contact or duplicate; recycle: no_contact when the SDR never reached
the lead, else not_ready, no_budget or no_authority); ``outcomes.reason`` is
the decision itself (qualified, recycle, disqualify).

*Reps.* First touch after ``exp(N(log 120, 1.2))`` working minutes, 15% a
further 1-4 working days late, 4% never (those are recycled or disqualified
after 10-20 working days).  Decision ``exp(N(log 2.5, 0.7))`` working days
after the touch: opportunity with ``logistic(0.25 + 0.4 u)``, else
disqualify (45%) or recycle.  Opportunities close 14-90 days later, won with
``logistic(-1.25 + 0.4 u)``.  Outbound leads start at ``sales_lead`` (70%) or
``opportunity`` (reason ``outbound``) with a rep and follow the same rules.

*Recycling.* A recycled lead starts a new buying burst 14 + Exp(60) days
later with probability ``logistic(-2.0 + 0.8 u)``; its next MQL event (a new
episode after the recycle, from ``mql_events`` with the stage log) hands it
over again, for up to 8 rounds.  An event at the recycle moment itself (fit
alone above the threshold) is ignored: marketing waits for new activity.

Everything after ``end`` is cut: hand-offs not decided by then have ``sql``
NA (pandas ``boolean``), ``opportunity``/``won`` are NA while open.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadsim.datasets._flow import Flow, Params
from leadsim.datasets.flat import FlatExport, make_flat_export
from leadsim.datasets.truth import GroundTruth, default_truth
from leadsim.datasets.world import make_activities, make_leads, make_owners
from leadsim.definition import LeadDefinition, load_definition
from leadsim.definition.loading import require_definition
from leadsim.errors import DataError, InputFileError
from leadsim.files import write_atomic

__all__ = ["FlatExport", "GroundTruth", "History", "default_truth", "load_sample", "make_flat_export", "make_history",
           "write_history"]

TABLES = ("leads", "activities", "stage_log", "touches", "owners", "outcomes")
#: how the shipped sample was made (``python -m leadsim.datasets --write data/sample``)
SAMPLE_ARGS = {"n_leads": 20_000, "start": "2025-01-01", "end": "2026-11-01", "seed": 2026}


@dataclass
class History:
    """A lead history: the six tables, the definition in force and the truth behind it."""

    leads: pd.DataFrame
    activities: pd.DataFrame
    stage_log: pd.DataFrame
    touches: pd.DataFrame
    owners: pd.DataFrame
    outcomes: pd.DataFrame
    definition: LeadDefinition
    _: KW_ONLY
    truth: GroundTruth | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.tables().items())
        return f"History({sizes}, definition={self.definition.version!r})"


def _ts(value: Any, what: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise DataError(f"cannot read {value!r} as a date; use e.g. '2025-01-01'", where=what) from None
    if ts is pd.NaT:
        raise DataError(f"{value!r} is not a date", where=what)
    return ts.tz_localize(None) if ts.tzinfo else ts


def make_history(
    definition: LeadDefinition,
    *,
    n_leads: int,
    start: Any,
    end: Any,
    seed: np.random.Generator | int | None = None,
    truth: GroundTruth | None = None,
    **params: Any,
) -> History:
    """A synthetic history of ``n_leads`` leads created in ``[start, end)``.

    ``definition`` drives the MQL hand-offs (the shipped sample uses
    ``load_definition()``); ``truth`` decides who becomes an SQL (default: the
    synthetic world's, :func:`default_truth` on the sample definition's rules,
    whatever definition drives the hand-offs).
    ``params`` override the funnel knobs of :class:`leadsim.datasets._flow.Params`
    (``sdrs`` and ``reps``: the team, ``exploration``, ``sdr_reaction_min``, ``sdr_forget``, ``opp_bias`` ...).
    See the module docstring for the full model.
    """
    start_ts, end_ts = _ts(start, "start"), _ts(end, "end")
    if not end_ts > start_ts:
        raise DataError(f"end {end_ts} must come after start {start_ts}", where="make_history")
    if int(n_leads) < 1:
        raise DataError(f"n_leads must be at least 1, got {n_leads}", where="make_history")
    known = {f.name for f in dataclasses.fields(Params)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise DataError(f"unknown parameter(s) {unknown}; known: {sorted(known)}", where="make_history")
    definition = require_definition(definition, where="make_history")
    rng = np.random.default_rng(seed)
    truth = truth if truth is not None else _world_truth()
    knobs = Params(**params)
    owners = make_owners(rng, knobs.sdrs, knobs.reps)
    leads, hidden = make_leads(rng, int(n_leads), start_ts, end_ts, definition.calendar)
    raw = make_activities(rng, leads, hidden, definition.calendar)
    flow = Flow(rng, leads, hidden, raw, owners, definition, truth, end_ts, knobs)
    flow.run()
    outcomes = flow.outcomes_frame()
    stage_log = flow.stage_log_frame()
    leads = _deal_sizes(rng, leads, stage_log, hidden["size"])
    return History(leads=leads, activities=flow.activities, stage_log=stage_log, touches=flow.touches_frame(),
                   owners=owners, outcomes=outcomes, definition=definition, truth=truth)


def _world_truth() -> GroundTruth:
    """The synthetic world's truth: its features are the sample definition's rules (see :mod:`leadsim.datasets.truth`).

    Not a fall-back for a missing definition: the world is the same whatever
    definition drives the hand-offs, so a stricter threshold changes who is
    handed over, never who would buy.
    """
    return default_truth(load_definition("default"))


def _deal_sizes(rng: np.random.Generator, leads: pd.DataFrame, stage_log: pd.DataFrame, size: np.ndarray) -> pd.DataFrame:
    """Deal size estimates, recorded only for leads an SDR or a rep has held."""
    held = leads["lead_id"].isin(stage_log.loc[stage_log["owner"].notna(), "lead_id"]).to_numpy()
    est = np.round(np.exp(np.log(15_000) + 0.35 * np.log(size / 50 + 0.1) + rng.normal(0, 0.5, len(leads))), -2)
    out = leads.copy()
    out["deal_size_eur"] = np.where(held, est, np.nan)
    return out


# --------------------------------------------------------------------------- the shipped sample


def content_hash(df: pd.DataFrame) -> str:
    """A hash of a table's values, column names and dtypes (independent of the file format)."""
    h = hashlib.sha256()
    h.update(json.dumps([[c, str(t)] for c, t in df.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def write_history(history: History, folder: str | os.PathLike[str], *, args: dict | None = None,
                  overwrite: bool = False) -> Path:
    """Write the six tables as Parquet plus ``MANIFEST.json`` (row counts, hashes, arguments)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputFileError("exists and is not a folder", where=str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"generator": "leadsim.datasets.make_history", "args": args or {},
                                "definition_version": history.definition.version, "tables": {}}
    for name, df in history.tables().items():
        path = folder / f"{name}.parquet"
        if path.exists() and not overwrite:
            raise InputFileError("exists already; pass overwrite=True (or --overwrite) to replace it", where=str(path))
        write_atomic(path, lambda tmp, df=df: df.to_parquet(tmp, index=False, compression="zstd"), overwrite=True)
        manifest["tables"][name] = {"rows": len(df), "sha256": content_hash(df)}
    write_atomic(folder / "MANIFEST.json", json.dumps(manifest, indent=2) + "\n", overwrite=True)
    return folder


def read_history(folder: str | os.PathLike[str], definition: LeadDefinition, *,
                 truth: GroundTruth | None = None) -> History:
    """Read a history written by :func:`write_history`; ``definition`` is the one it was made with.

    ``truth`` defaults to the synthetic world's, as in :func:`make_history`.
    """
    definition = require_definition(definition, where="read_history")
    folder = Path(folder)
    tables = {}
    for name in TABLES:
        path = folder / f"{name}.parquet"
        if not path.is_file():
            raise InputFileError(f"missing {name}.parquet; regenerate with python -m leadsim.datasets --write",
                                 where=str(path))
        tables[name] = pd.read_parquet(path)
    return History(**tables, definition=definition, truth=truth if truth is not None else _world_truth())


def load_sample() -> History:
    """The embedded sample history (read from Parquet; works in an installed wheel).

    20,000 leads created 2025-01-01 .. 2026-10-31 with the default definition
    and truth, made by ``make_history(load_definition(), **SAMPLE_ARGS)``; ``MANIFEST.json`` next
    to the files holds row counts and content hashes.

    >>> s = load_sample()
    >>> len(s.leads), bool(s.outcomes["sql"].sum() >= 120)
    (20000, True)
    """
    from leadsim._resources import data_path

    # the sample entry point: it names the sample definition the files were made with
    return read_history(data_path("sample/leads.parquet").parent, load_definition())

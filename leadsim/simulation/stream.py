"""The run's activity log: every lead's behaviour over the horizon, integer-coded and grouped by lead.

The whole stream is drawn before the run starts
(:func:`leadsim.simulation.arrivals.behaviour_stream`); the run then only
*removes* rows (a closed lead goes quiet for good, a recycled one for the rest
of the epoch) and fills in which nurture offer each click was, from the stage
the lead is in when its epoch starts.  Rows are sorted by (lead, time), so a
lead's rows are one slice (``ptr``) and an epoch's rows one slice of the
time order (``by_time``).

>>> import numpy as np
>>> s = Stream({"lead": np.array([1, 0, 1]), "t": np.array([5, 7, 2]),
...             "activity": np.array(["web_visit", "email_click", "webinar"], object),
...             "detail": np.array(["/pricing", None, None], object), "nurture": np.array([False, True, False]),
...             "pick": np.array([0.0, 0.6, 0.0])}, n_leads=2, offers={"name": ["newsletter", "blog digest"]})
>>> s.rows_of(np.array([1])).tolist(), s.epoch_rows(0, 6).tolist()
([1, 2], [1, 2])
>>> changed = s.resolve(np.array([0]), np.array(["name"], object))
>>> s.detail_names()[s.det[0]]
'blog digest'
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from leadsim.simulation.records import labels, ranks

__all__ = ["Stream", "rows_in"]

NO_OFFER = -2  # a click in a stage without offers: the row is dropped



def rows_in(ptr: np.ndarray, picked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of the groups ``picked`` in a table sorted by group, whose group ``g`` spans rows
    ``ptr[g]:ptr[g + 1]``: every row, group by group in the order picked, and each row's position in ``picked``.

    >>> rows_in(np.array([0, 2, 2, 5]), np.array([2, 0]))
    (array([2, 3, 4, 0, 1]), array([0, 0, 0, 1, 1]))
    """
    picked = np.asarray(picked, np.int64)
    lo, hi = ptr[picked], ptr[picked + 1]
    n = hi - lo
    return np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum())), np.repeat(np.arange(len(picked)), n)

class Stream:
    """Activity rows (``lead``, ``t`` ns since the start, ``act``/``det`` codes) with a ``live`` mask."""

    def __init__(self, cols: dict[str, np.ndarray], n_leads: int, offers: dict[str, list[str]],
                 vocab: tuple[list[str], list[str]] | None = None):
        """``cols``: lead, t, activity, detail, nurture, pick; activity and detail as names (objects), or as
        codes into ``vocab`` = (activity names, detail names) with -1 for no detail."""
        lead, t = np.asarray(cols["lead"], np.int64), np.asarray(cols["t"], np.int64)
        # rows by lead, then time, then input order: one sort on (lead, rank in a stable time order)
        by_time = np.argsort(t, kind="stable")
        rank = np.empty(len(t), np.int64)
        rank[by_time] = np.arange(len(t))
        order = np.argsort(lead * len(t) + rank)  # distinct keys: no ties to break
        self.lead, self.t = lead[order], t[order]
        if vocab is None:
            act, act_u = pd.factorize(cols["activity"][order])
            det, det_u = pd.factorize(cols["detail"][order])
            vocab = ([str(a) for a in act_u], [str(d) for d in det_u])
        else:
            act, det = cols["activity"][order], cols["detail"][order]
        self.act = np.asarray(act, np.int32)
        self.det = np.asarray(det, np.int32)
        self.act_vocab = list(vocab[0])
        self.det_vocab: list[str] = list(vocab[1])
        index = {d: k for k, d in enumerate(self.det_vocab)}
        for names in offers.values():
            for o in names:
                if o not in index:
                    index[o] = len(self.det_vocab)
                    self.det_vocab.append(o)
        # per stage: the codes of its offers (a click's pick chooses one)
        self.offer_codes = {s: np.array([index[o] for o in names], np.int32) for s, names in offers.items()}
        self.nurture = np.asarray(cols["nurture"], bool)[order]
        self.pick = np.asarray(cols["pick"], float)[order]
        self.ptr = np.searchsorted(self.lead, np.arange(n_leads + 1))
        position = np.empty(len(t), np.int64)
        position[order] = np.arange(len(t))
        self.by_time = position[by_time]  # rows in time order (ties in any order: epoch_rows sorts its slice)
        self.t_sorted = t[by_time]
        self.live = np.ones(len(self.t), bool)
        self.act_names = pa.array(self.act_vocab, pa.string())  # the vocabularies as scoring's engine takes them
        self.det_names = pa.array(self.det_vocab, pa.string())
        self._quiet: list[tuple[int, int, int]] = []

    def __len__(self) -> int:
        return len(self.t)

    def codes(self, names) -> np.ndarray:
        """Activity codes of ``names`` present in the stream."""
        return np.array([k for k, a in enumerate(self.act_vocab) if a in set(names)], np.int32)

    def detail_names(self) -> np.ndarray:
        """The detail vocabulary as objects, ``None`` last (so code -1 picks it)."""
        return np.array([*self.det_vocab, None], dtype=object)

    def epoch_rows(self, t0: int, t1: int) -> np.ndarray:
        """Live rows with ``t0 <= t < t1``, in (lead, time) order."""
        self.flush()
        a, b = np.searchsorted(self.t_sorted, [t0, t1], side="left")
        rows = np.sort(self.by_time[a:b])
        return rows[self.live[rows]]

    def rows_of(self, leads: np.ndarray, *, owner: bool = False):
        """Every row (live or not) of ``leads``, lead by lead; with ``owner``, also each row's position in ``leads``."""
        rows, of = rows_in(self.ptr, leads)
        return (rows, of) if owner else rows

    def silence(self, lead: int, after: int, before: int) -> None:
        """Drop lead ``lead``'s rows with ``after < t < before`` (applied in batches: see :meth:`flush`)."""
        self._quiet.append((lead, after, before))

    def flush(self) -> None:
        """Apply the pending :meth:`silence` calls to the ``live`` mask."""
        if not self._quiet:
            return
        lead, after, before = (np.asarray(c, np.int64) for c in zip(*self._quiet, strict=True))
        self._quiet = []
        rows, owner = self.rows_of(lead, owner=True)
        t = self.t[rows]
        self.live[rows[(t > after[owner]) & (t < before[owner])]] = False

    def resolve(self, rows: np.ndarray, stages: np.ndarray) -> np.ndarray:
        """Set the offer of the nurture clicks ``rows`` from each row's stage; True where it changed.

        A click in a stage without offers is dropped (no longer live).
        """
        new = np.full(len(rows), NO_OFFER, np.int32)
        for stage in pd.unique(stages):
            m = stages == stage
            codes = self.offer_codes.get(stage)
            if codes is not None and len(codes):
                new[m] = codes[(self.pick[rows[m]] * len(codes)).astype(np.int64)]
        changed = new != self.det[rows]
        self.det[rows] = np.where(new == NO_OFFER, -1, new)
        gone = rows[new == NO_OFFER]
        changed |= new == NO_OFFER
        self.live[gone] = False
        return changed

    def table(self, ids, base: np.datetime64, id_rank: np.ndarray | None = None) -> pd.DataFrame:
        """The shared activities table: live rows sorted by time, then lead id (``ids`` by lead position;
        ``id_rank``: their :func:`~leadsim.simulation.records.ranks`, if known)."""
        self.flush()
        rows = np.flatnonzero(self.live)
        rank = ranks(ids) if id_rank is None else id_rank
        rows = rows[np.lexsort((rank[self.lead[rows]], self.t[rows]))]
        return pd.DataFrame({"lead_id": labels(self.lead[rows], ids),
                             "activity": labels(self.act[rows], self.act_vocab),
                             "at": pd.array(base + self.t[rows].astype("timedelta64[ns]"), dtype="datetime64[ns]"),
                             "detail": labels(self.det[rows], self.det_vocab)})

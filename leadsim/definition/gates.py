"""The MQL gates: what a lead needs besides the threshold, or besides a hot trigger, to be handed over.

The threshold alone lets fit and BANT make an MQL of a lead that never did
anything, and a hot trigger alone hands over a student at a competitor's
domain.  ``gates`` in the definition closes both holes:

.. code-block:: yaml

    gates:
      mql:                       # an MQL by score needs, besides thresholds.mql:
        min_behaviour: 10        #   a behaviour score of at least 10 (buying behaviour)
        min_grade: C             #   a fit grade of C or better
        exclude: [competitor, student, unsubscribed]
      hot:                       # a hot trigger hands a lead over only when:
        min_grade: C
        exclude: [competitor, student, unsubscribed]

``exclude`` names scoring rules (fit rules, ``bant_<fact>``, behaviour rules):
a lead for which one of them scores (non-zero points at that moment) is held
back.  ``min_grade`` names a band of ``thresholds.fit_grades``;
``min_behaviour`` is a number of behaviour points (0 or more).  Leaving a
gate out, or a field of it, checks nothing.  How scoring applies the gates is
in :mod:`leadsim.scoring.gates`.

>>> g = MqlGates.model_validate({"mql": {"min_behaviour": 10, "min_grade": "C"}})
>>> g.mql.min_behaviour, g.hot.exclude
(10.0, [])
>>> from pydantic import ValidationError
>>> try:
...     Gate(min_behaviour=-5)
... except ValidationError as err:
...     print(err.errors()[0]["msg"])
Input should be greater than or equal to 0
"""

from __future__ import annotations

from pydantic import Field, field_validator

from leadsim.definition.parts import StrictModel

__all__ = ["GATE_NAMES", "Gate", "MqlGates", "check_gates"]

GATE_NAMES = ("mql", "hot")
"""The gates, in the order scoring checks them: the score path, then the hot path."""


class Gate(StrictModel):
    """What a lead must also meet on one path to MQL (see the module docstring).

    Checked in this order: the ``exclude`` rules as listed, then
    ``min_grade``, then ``min_behaviour``; the first that fails is the one
    reported as holding the lead back.
    """

    min_behaviour: float | None = Field(None, ge=0, allow_inf_nan=False)
    min_grade: str | None = None
    exclude: list[str] = Field(default_factory=list)

    @field_validator("exclude")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        dup = sorted({r for r in v if v.count(r) > 1})
        if dup:
            raise ValueError(f"rule(s) {dup} listed twice; list each rule once")
        return v

    @property
    def empty(self) -> bool:
        """Whether the gate checks nothing."""
        return self.min_behaviour is None and self.min_grade is None and not self.exclude


class MqlGates(StrictModel):
    """The gate of the score path (``mql``) and of the hot path (``hot``)."""

    mql: Gate = Field(default_factory=Gate)
    hot: Gate = Field(default_factory=Gate)


def check_gates(gates: MqlGates, *, rule_points: dict[str, float], grades: list[str]) -> None:
    """Raise ``ValueError`` naming the field and the fix when a gate names a rule or grade that does not exist.

    ``rule_points``: every scoring rule's id and points (a rule of 0 points
    never scores, so it could never exclude anyone); ``grades``: the fit
    grades, best first.

    >>> check_gates(MqlGates(hot=Gate(min_grade="E")), rule_points={}, grades=["A", "B"])
    Traceback (most recent call last):
    ValueError: gates.hot.min_grade: unknown grade 'E'; the fit grades are ['A', 'B'] (thresholds.fit_grades)
    """
    for name in GATE_NAMES:
        gate: Gate = getattr(gates, name)
        where = f"gates.{name}"
        if gate.min_grade is not None and gate.min_grade not in grades:
            raise ValueError(f"{where}.min_grade: unknown grade {gate.min_grade!r}; the fit grades are {grades} "
                             "(thresholds.fit_grades)")
        for rid in gate.exclude:
            if rid not in rule_points:
                raise ValueError(f"{where}.exclude: unknown rule id {rid!r}; name a fit, BANT (bant_<fact>) or "
                                 f"behaviour rule, e.g. {list(rule_points)[:4]}")
            if rule_points[rid] == 0:
                raise ValueError(f"{where}.exclude: rule {rid!r} scores 0 points, so it never shows on a lead; "
                                 "give it points or exclude another rule")

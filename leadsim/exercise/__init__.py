"""The "100 companies" exercise: worksheets, verdicts and agreement statistics.

The head of marketing and the head of sales each take the same ~100 companies,
qualify them by hand ("good lead", "not a lead", "unsure"), then compare their
verdicts with each other and with what the written definition says.

The steps, each one function:

1. :func:`sample_companies` picks one lead per company, stratified by score
   band (and source) so the borderline cases are in the list; each row keeps
   its sampling weight.
2. :func:`write_exercise` (or :func:`write_worksheet` + :func:`write_key`)
   writes one workbook per reviewer -- the facts the definition uses, an empty
   verdict column with a drop-down and a reason column, *not* the score -- and a
   key file with lead ids, weights and the definition's own verdict.
3. :func:`read_verdicts` reads a filled workbook or CSV and normalises the
   verdict words (:data:`VERDICT_WORDS`).
4. :func:`compare` gives an :class:`AgreementReport`: Cohen's kappa with a 95 %
   interval per pair, population-weighted agreement, confusion matrices, the
   disagreements with the definition and the rules behind them, and the
   attribute values that separate the heads' "good" from "not" most.
5. :func:`as_labels` turns the verdicts into ``X, y`` for a calibrator.

:func:`make_exercise` does steps 1-2 from a history (for instance the
embedded sample, ``load_sample()``); with ``simulate=True`` it also fills the worksheets with
:func:`simulate_verdicts`, which is how ``data/exercise/`` was made.

Modules: :mod:`~leadsim.exercise.agreement` (verdict words, the comparison report),
:mod:`~leadsim.exercise.statistics` (kappa and weighted kappa from statsmodels, alpha from krippendorff, Gwet's
AC1/AC2, bootstrap intervals, the kappa paradox), :mod:`~leadsim.exercise.coefficients` (the coefficient table),
:mod:`~leadsim.exercise.coding` (the worksheet's coded columns), :mod:`~leadsim.exercise.planning` (sample size),
:mod:`~leadsim.exercise.rounds` (rounds of one exercise), :mod:`~leadsim.exercise.revision` (a revised definition
from the disagreement),
:mod:`~leadsim.exercise.worksheets` (files), :mod:`~leadsim.exercise.sampling`
(sample, simulated heads, labels).

>>> import pandas as pd
>>> from leadsim import load_definition
>>> m = pd.Series({"Acme": "good", "Bolt": "not", "Cora": "good", "Dax": "unsure"})
>>> s = pd.Series({"Acme": "good", "Bolt": "not", "Cora": "not", "Dax": "good"})
>>> compare({"marketing": m, "sales": s}, load_definition()).pairs[["n", "agreement", "kappa"]].round(3).to_dict("records")
[{'n': 3, 'agreement': 0.667, 'kappa': 0.4}]
>>> normalise_verdict(" Ja "), normalise_verdict("not a lead"), normalise_verdict("?")
('good', 'not', 'unsure')
"""

from leadsim.exercise.agreement import (
    KEY_COLUMNS,
    VERDICT_WORDS,
    VERDICTS,
    AgreementReport,
    cohen_kappa,
    compare,
    kappa_from_table,
    normalise_verdict,
)
from leadsim.exercise.coefficients import coefficient_table
from leadsim.exercise.planning import plan_sample
from leadsim.exercise.revision import Revision, apply_edits, revise_definition, revision_round
from leadsim.exercise.rounds import load_rounds, record_round, rescore_key, round_table, rounds_markdown
from leadsim.exercise.sampling import (
    BEHAVIOUR_FACTS,
    HEAD_BIASES,
    SCORE_BANDS,
    as_labels,
    exercise_as_of,
    make_exercise,
    sample_companies,
    simulate_verdicts,
)
from leadsim.exercise.worksheets import (
    DROPDOWN,
    read_key,
    read_verdicts,
    worksheet_columns,
    write_exercise,
    write_key,
    write_worksheet,
)

__all__ = [
    "BEHAVIOUR_FACTS",
    "DROPDOWN",
    "HEAD_BIASES",
    "KEY_COLUMNS",
    "SCORE_BANDS",
    "VERDICTS",
    "VERDICT_WORDS",
    "AgreementReport",
    "Revision",
    "apply_edits",
    "as_labels",
    "coefficient_table",
    "cohen_kappa",
    "compare",
    "exercise_as_of",
    "kappa_from_table",
    "load_rounds",
    "make_exercise",
    "normalise_verdict",
    "plan_sample",
    "read_key",
    "read_verdicts",
    "record_round",
    "rescore_key",
    "revise_definition",
    "revision_round",
    "round_table",
    "rounds_markdown",
    "sample_companies",
    "simulate_verdicts",
    "worksheet_columns",
    "write_exercise",
    "write_key",
    "write_worksheet",
]

"""The public API reads the same everywhere (docs/design.md section 5.6, "The public API's shape").

Tables first, then the definition (required: no library function falls back to the sample definition), then
keyword-only options with one name per idea: ``as_of`` for the moment, ``seed`` for randomness, ``executor``,
``progress``.  Walks every public function, method and class of the modules users import from.
"""

from __future__ import annotations

import importlib
import inspect

import pandas as pd
import pytest

from leadsim.errors import DefinitionError

MODULES = ("leadsim", "leadsim.funnel", "leadsim.io", "leadsim.datasets", "leadsim.exercise", "leadsim.scoring",
           "leadsim.calibration", "leadsim.sla", "leadsim.simulation")

#: Names that mean an idea that has one public name elsewhere: the moment is ``as_of``, randomness is ``seed``.
RETIRED = {"at": "as_of", "now": "as_of", "when": "as_of", "until": "as_of", "random_state": "seed",
           "rng_seed": "seed", "rng": "seed"}

#: (callable, parameter) pairs that keep a shape on purpose, with the reason.
EXCEPTIONS = {
    # scikit-learn's estimator protocol seeds an estimator through ``random_state`` (get_params/set_params,
    # sklearn.utils.estimator_checks.set_random_state); renaming it would break that contract
    ("leadsim.calibration.estimator.MQLCalibrator", "random_state"): "scikit-learn estimator protocol",
    # a back-test's two window ends, named as the issue that asked for it names them: fit_until and until
    ("leadsim.simulation.backtest.backtest", "until"): "end of the simulated stretch, paired with fit_until",
}


def _public_callables():
    seen = {}
    for name in MODULES:
        mod = importlib.import_module(name)
        names = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
        for attr in names:
            obj = getattr(mod, attr)
            if inspect.isclass(obj) and obj.__module__.startswith("leadsim"):
                items = [(f"{obj.__module__}.{obj.__qualname__}", obj)]
                for meth_name, meth in vars(obj).items():
                    if meth_name.startswith("_"):
                        continue
                    fn = meth.__func__ if isinstance(meth, classmethod | staticmethod) else meth
                    if inspect.isfunction(fn):
                        items.append((f"{obj.__module__}.{fn.__qualname__}", fn))
            elif inspect.isfunction(obj) and obj.__module__.startswith("leadsim"):
                items = [(f"{obj.__module__}.{obj.__qualname__}", obj)]
            else:
                continue
            for qual, fn in items:
                seen.setdefault(qual, fn)
    return sorted(seen.items())


PUBLIC = _public_callables()


def _params(fn):
    try:
        return list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return []


def test_the_walk_sees_the_api():
    names = {q.rsplit(".", 1)[-1] for q, _ in PUBLIC}
    assert {"score", "snapshot", "velocity", "read_table", "make_history", "calibrate", "compare", "audit",
            "sweep", "GroundTruth", "Scenario"} <= names
    assert len(PUBLIC) > 80


@pytest.mark.parametrize(("qual", "fn"), PUBLIC, ids=[q for q, _ in PUBLIC])
def test_definition_is_required_and_options_after_it_keyword_only(qual, fn):
    params = _params(fn)
    names = [p.name for p in params]
    if "definition" not in names:
        return
    i = names.index("definition")
    d = params[i]
    assert d.default is inspect.Parameter.empty, f"{qual}: 'definition' has a default ({d.default!r}); make it required"
    loose = [p.name for p in params[i + 1:]
             if p.kind not in (p.KEYWORD_ONLY, p.VAR_KEYWORD) and (qual, p.name) not in EXCEPTIONS]
    assert not loose, f"{qual}: {loose} come after 'definition' but are not keyword-only"


@pytest.mark.parametrize(("qual", "fn"), PUBLIC, ids=[q for q, _ in PUBLIC])
def test_one_name_per_idea(qual, fn):
    bad = {p.name: RETIRED[p.name] for p in _params(fn) if p.name in RETIRED and (qual, p.name) not in EXCEPTIONS}
    assert not bad, f"{qual}: rename {bad}"


def test_the_exceptions_are_still_needed():
    params = {q: {p.name for p in _params(fn)} for q, fn in PUBLIC}
    for qual, name in EXCEPTIONS:
        assert name in params.get(qual, set()), f"{qual}.{name} is gone: drop it from EXCEPTIONS"


# --------------------------------------------------------------------------- behaviour: no silent fall-back

LOG = pd.DataFrame({"lead_id": ["L1", "L1"], "stage": ["name", "lead"],
                    "at": pd.to_datetime(["2026-03-02 10:00", "2026-03-04 10:00"])})


def _calls():
    import leadsim
    from leadsim import funnel, io
    from leadsim.calibration import build_features
    from leadsim.datasets import default_truth
    from leadsim.exercise import compare, sample_companies

    leads = pd.DataFrame({"lead_id": ["L1"], "company": ["Acme"], "created_at": [pd.Timestamp("2026-03-01")]})
    return {
        "funnel.velocity": lambda: funnel.velocity(LOG, None),
        "funnel.snapshot": lambda: funnel.snapshot(LOG, None, as_of="2026-03-05"),
        "funnel.waterfall": lambda: funnel.waterfall(LOG, None),
        "funnel.validate_stage_log": lambda: funnel.validate_stage_log(LOG, None),
        "io.validate_table": lambda: io.validate_table(leads, "leads", None),
        "leadsim.score": lambda: leadsim.score(leads, None, None, as_of="2026-03-05"),
        "leadsim.make_history": lambda: leadsim.make_history(None, n_leads=5, start="2025-01-01", end="2025-02-01"),
        "datasets.default_truth": lambda: default_truth(None),
        "exercise.compare": lambda: compare({"a": pd.Series({"Acme": "good"}), "b": pd.Series({"Acme": "not"})}, None),
        "exercise.sample_companies": lambda: sample_companies(leads, pd.DataFrame({"score": [1.0]}, index=["L1"]), None),
        "calibration.build_features": lambda: build_features({"leads": leads, "outcomes": leads}, None),
    }


@pytest.mark.parametrize("name", sorted(_calls()))
def test_a_missing_definition_is_refused_naming_the_fix(name):
    with pytest.raises(DefinitionError, match=r"pass a LeadDefinition \(e\.g\. leadsim\.load_definition\(\)\)"):
        _calls()[name]()


def test_velocity_without_a_definition_names_the_fix():
    import leadsim

    with pytest.raises(DefinitionError) as err:
        leadsim.velocity(LOG, None)
    assert "velocity" in str(err.value) and "leadsim.load_definition()" in str(err.value)
    with pytest.raises(TypeError, match="definition"):
        leadsim.velocity(LOG)  # a required argument: no silent fall-back to the sample


def test_a_full_scenario_needs_a_definition():
    from leadsim.errors import ScenarioError
    from leadsim.simulation.scenario import Scenario, build, load_scenario

    with pytest.raises(ScenarioError, match=r"definition: required key is missing \(put 'definition: default'"):
        build({"name": "no definition"})
    with pytest.raises(ScenarioError, match="needs a lead definition, not null"):
        build({"name": "null definition", "definition": None})
    assert load_scenario().lead_definition.version  # the sample names its own: 'definition: default'
    assert Scenario.queueing(6, 3, 3, horizon_days=0.5, warmup_days=0).definition is None  # the M/M/c model needs none

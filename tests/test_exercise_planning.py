"""Planning the exercise's sample: the half-width of kappa's interval against a closed form and a simulation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from leadsim.errors import LeadsimError
from leadsim.exercise.planning import expected_table, kappa_half_width, plan_sample


def _closed_form_variance(k, p):
    """Kappa's variance times n for two raters with a common prevalence p (Fleiss 1981; Donner & Eliasziw 1992)."""
    return (1 - k) * ((1 - k) * (1 - 2 * k) + k * (2 - k) / (2 * p * (1 - p)))


@pytest.mark.parametrize(("k", "p"), [(0.6, 0.3), (0.4, 0.5), (0.8, 0.1), (0.2, 0.25)])
def test_half_width_equals_the_closed_form(k, p):
    for n in (50, 100, 300):
        assert kappa_half_width(n, kappa=k, prevalence=p) == pytest.approx(
            1.959964 * math.sqrt(_closed_form_variance(k, p) / n), rel=1e-5)


def test_the_issue_numbers():
    plan = plan_sample(kappa=0.6, half_width=0.1, prevalence=0.3)
    assert 290 <= plan["n"] <= 310  # "about 300"
    assert plan["half_width_at_n"] == pytest.approx(0.17, abs=0.005)  # 100 companies: about +-0.17
    assert kappa_half_width(plan["n"], kappa=0.6, prevalence=0.3) <= 0.1 < kappa_half_width(
        plan["n"] - 1, kappa=0.6, prevalence=0.3)


def test_the_planned_sample_gives_the_promised_spread_in_simulation():
    rng = np.random.default_rng(11)
    n = plan_sample(kappa=0.6, half_width=0.1, prevalence=0.3)["n"]
    cells = expected_table(kappa=0.6, prevalence=0.3).ravel()
    kappas = []
    for counts in rng.multinomial(n, cells, size=2000):
        a = np.repeat([0, 0, 1, 1], counts)
        b = np.repeat([0, 1, 0, 1], counts)
        kappas.append(cohen_kappa_score(a, b))
    inside = np.mean(np.abs(np.array(kappas) - 0.6) <= 0.1)
    assert inside == pytest.approx(0.95, abs=0.02)


def test_bad_plans_get_one_clear_line():
    with pytest.raises(LeadsimError, match=r"prevalence.*between 0 and 1"):
        plan_sample(kappa=0.6, half_width=0.1, prevalence=1.3)
    with pytest.raises(LeadsimError, match=r"kappa 1.2 is not possible"):
        plan_sample(kappa=1.2, half_width=0.1, prevalence=0.3)
    with pytest.raises(LeadsimError, match=r"half-width"):
        plan_sample(kappa=0.6, half_width=0, prevalence=0.3)


def test_cli_plan(capsys):
    from leadsim.cli import main

    assert main(["exercise", "plan", "--kappa", "0.6", "--half-width", "0.1", "--prevalence", "0.3"]) == 0
    out = capsys.readouterr().out
    assert "sample 296 companies" in out and "100 companies give about ±0.17" in out
    assert main(["exercise", "plan", "--json", "--n", "80"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n_given"] == 80 and data["half_width_at_n"] > 0.17
    assert main(["exercise", "plan", "--prevalence", "0"]) == 2
    err = capsys.readouterr().err
    assert "prevalence" in err and "Traceback" not in err


def test_the_report_shows_the_half_width_its_sample_gives():
    import pandas as pd

    from leadsim.definition import load_definition
    from leadsim.exercise import compare

    rng = np.random.default_rng(5)
    a = rng.choice(["good", "not"], 100, p=[0.3, 0.7])
    b = np.where(rng.random(100) < 0.8, a, rng.choice(["good", "not"], 100))
    rep = compare({"marketing": pd.Series(a), "sales": pd.Series(b)}, load_definition())
    assert "half-width of about ±0." in rep.precision and "leadsim exercise plan" in rep.to_markdown()

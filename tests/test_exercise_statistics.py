"""Agreement statistics of the exercise against independent references: sklearn, krippendorff, Gwet's worked example."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa

from leadsim.definition import load_definition
from leadsim.exercise import compare
from leadsim.exercise import statistics as st
from leadsim.exercise.coding import STAGES
from leadsim.exercise.coefficients import coefficient_table

HAND_TABLES = [[[20, 5], [10, 15]], [[12, 3, 1], [2, 9, 4], [0, 5, 14]], [[30, 1], [12, 7]],
               [[5, 0, 2, 1], [9, 3, 1, 0], [1, 1, 8, 2], [0, 1, 2, 9]]]


def _labels(table):
    """Two raters' label lists that give ``table``."""
    a, b = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            a += [i] * count
            b += [j] * count
    return a, b


CASES = [(t, wt) for t in HAND_TABLES for wt in (None, "linear", "quadratic") if wt is None or len(t) > 2]


@pytest.mark.parametrize(("table", "wt"), CASES)
def test_kappa_se_interval_and_weighted_kappa_equal_statsmodels_and_sklearn(table, wt):
    r = st.kappa(table, wt=wt)
    ref = cohens_kappa(np.asarray(table, float), wt=wt)
    assert r["value"] == pytest.approx(ref["kappa"], rel=1e-12)
    assert r["se"] == pytest.approx(ref["std_kappa"], rel=1e-12)
    assert (r["low"], r["high"]) == pytest.approx((ref["kappa_low"], ref["kappa_upp"]), rel=1e-12)
    a, b = _labels(table)
    assert r["value"] == pytest.approx(cohen_kappa_score(a, b, weights=wt), rel=1e-9)  # an independent second source
    assert r["agreement"] == pytest.approx(np.mean(np.array(a) == np.array(b)))


def test_alpha_equals_krippendorff_with_missing_values():
    # Krippendorff's own example (3 coders, 15 units, gaps): nominal 0.691 in the krippendorff package's documentation
    nan = np.nan
    data = [[nan, nan, nan, nan, nan, 3, 4, 1, 2, 1, 1, 3, 3, nan, 3],
            [1, nan, 2, 1, 3, 3, 4, 3, nan, nan, nan, nan, nan, nan, nan],
            [nan, nan, 2, 1, 3, 4, 4, nan, 2, 1, 1, 3, 3, nan, 4]]
    assert st.alpha(data) == pytest.approx(0.691, abs=5e-4)
    rng = np.random.default_rng(4)
    for _ in range(5):
        x = rng.integers(0, 5, size=(3, 60)).astype(float)
        x[1] = np.where(rng.random(60) < 0.6, x[0], x[1])
        x[rng.random((3, 60)) < 0.15] = np.nan
        for level in ("nominal", "ordinal"):
            ref = krippendorff.alpha(reliability_data=x, level_of_measurement=level, value_domain=np.arange(5.0))
            assert st.alpha(x, level_of_measurement=level, categories=5) == pytest.approx(ref, rel=1e-12)


def test_ac1_equals_gwets_worked_example():
    # Gwet's worked example (irrCAC, cont3x3abstractors: two abstractors, 100 pregnancies, 3 categories):
    # AC1 0.8493305, standard error 0.04321747, 95 % interval (0.764, 0.935); percent agreement 0.89
    r = st.gwet([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
    assert r["value"] == pytest.approx(0.8493305, abs=5e-8)
    assert r["se"] == pytest.approx(0.04321747, abs=5e-9)
    assert (round(r["low"], 3), round(r["high"], 3)) == (0.764, 0.935)
    assert r["agreement"] == pytest.approx(0.89)


def test_ac2_reduces_to_ac1_and_matches_a_hand_computation():
    t = [[12, 3, 1], [2, 9, 4], [0, 5, 14]]
    assert st.gwet(t, weights=None)["value"] == pytest.approx(st.gwet(t)["value"])
    two = [[30, 1], [12, 7]]
    assert st.gwet(two, weights="linear")["value"] == pytest.approx(st.gwet(two)["value"])  # 2 categories: identity
    # hand, linear weights [[1, .5, 0], [.5, 1, .5], [0, .5, 1]], n = 50:
    # p_a = (12 + 9 + 14)/50 + .5 * (3 + 2 + 4 + 5)/50 = .70 + .14 = .84
    # pi = ((16 + 14)/100, (15 + 17)/100, (19 + 19)/100) = (.30, .32, .38)
    # T_w = 3 * 1 + 4 * .5 = 5, q = 3: p_e = 5/6 * (.3*.7 + .32*.68 + .38*.62) = 5/6 * .6632 = .552667
    # AC2 = (.84 - .552667) / (1 - .552667) = .642325
    assert st.gwet(t, weights="linear")["value"] == pytest.approx((0.84 - 5 / 6 * 0.6632) / (1 - 5 / 6 * 0.6632))


def test_the_kappa_paradox_table_and_its_explanation():
    t = [[82, 8], [7, 3]]
    k, ac = st.kappa(t), st.gwet(t)
    assert k["agreement"] == pytest.approx(0.85)
    assert round(k["value"], 2) == 0.20 and round(ac["value"], 3) == 0.815
    note = st.paradox_note(t, names=("marketing", "sales"), labels=["good", "not"])
    assert "85 %" in note and "0.20" in note and "kappa paradox" in note and "0.82" in note
    assert st.paradox_note([[40, 10], [10, 40]]) is None  # balanced: no paradox
    a, b = _labels(t)
    words = np.array(["good", "not"])
    rep = compare({"marketing": pd.Series(words[a]), "sales": pd.Series(words[b])}, load_definition())
    assert any("kappa paradox" in n for n in rep.notes) and "kappa paradox" in rep.to_markdown()
    row = rep.pairs.iloc[0]
    assert row["agreement"] == pytest.approx(0.85) and row["ac1"] == pytest.approx(ac["value"])


def test_every_statistic_has_an_interval_and_the_bootstrap_is_seeded():
    rng = np.random.default_rng(9)
    n = 120
    truth = rng.integers(0, 5, n)
    heads = {h: np.clip(truth + rng.integers(-1, 2, n) * (rng.random(n) < 0.4), 0, 4) for h in ("m", "s", "sdr")}
    verdicts = pd.DataFrame({h: np.where(v >= 2, "good", "not") for h, v in heads.items()}).astype(object)
    verdicts.loc[rng.random(n) < 0.1, "sdr"] = "unsure"
    stages = pd.DataFrame({h: np.array(STAGES, dtype=object)[v] for h, v in heads.items()})
    stages.loc[rng.random(n) < 0.05, "m"] = None
    t1, _ = coefficient_table(verdicts, stages, ["m", "s", "sdr"], n_boot=300, seed=3)
    t2, _ = coefficient_table(verdicts, stages, ["m", "s", "sdr"], n_boot=300, seed=3)
    pd.testing.assert_frame_equal(t1, t2)
    assert t1[["value", "low", "high"]].notna().all().all()
    assert ((t1["low"] <= t1["value"] + 1e-12) & (t1["value"] <= t1["high"] + 1e-12)).all()
    assert set(t1["statistic"]) >= {"kappa", "AC1", "alpha", "weighted kappa (linear)", "AC2 (linear)",
                                     "alpha (ordinal)", "Light's kappa", "Light's kappa (linear)"}
    # Light's kappa is the mean of the pairwise kappas; alpha over all heads is krippendorff's
    light = t1[(t1["scale"] == "verdict") & (t1["statistic"] == "Light's kappa")].iloc[0]
    pairs = t1[(t1["scale"] == "verdict") & (t1["statistic"] == "kappa")]
    assert light["value"] == pytest.approx(pairs["value"].mean())
    every = t1[(t1["scale"] == "stage") & (t1["statistic"] == "alpha (ordinal)") & (t1["b"] == "all")].iloc[0]
    codes = np.vstack([[STAGES.index(v) if isinstance(v, str) else np.nan for v in stages[h]] for h in stages])
    assert every["value"] == pytest.approx(krippendorff.alpha(reliability_data=codes, level_of_measurement="ordinal",
                                                              value_domain=np.arange(5.0)))
    wk = t1[(t1["a"] == "m") & (t1["b"] == "s") & (t1["statistic"] == "weighted kappa (linear)")].iloc[0]
    ok = stages["m"].notna()
    assert wk["value"] == pytest.approx(cohen_kappa_score(list(heads["m"][ok]), list(heads["s"][ok]),
                                                          weights="linear"))


def test_compare_reads_stage_answers_from_worksheet_frames():
    rng = np.random.default_rng(2)
    names = [f"C{i}" for i in range(50)]
    stage = rng.choice(STAGES, 50)
    frames = {}
    for h in ("marketing", "sales"):
        s = np.where(rng.random(50) < 0.7, stage, rng.choice(STAGES, 50))
        frames[h] = pd.DataFrame({"verdict": np.where(np.isin(s, ["lead", "sales_lead", "opportunity"]), "good", "not"),
                                  "stage": s}, index=pd.Index(names, dtype=object)).astype(object)
    rep = compare(frames, load_definition())
    stage_rows = rep.coefficients[rep.coefficients["scale"] == "stage"]
    assert set(stage_rows["statistic"]) == {"weighted kappa (linear)", "AC2 (linear)", "alpha (ordinal)"}
    assert not math.isnan(stage_rows["value"].iloc[0])
    assert "## All coefficients" in rep.to_markdown() and rep.to_dict()["coefficients"]

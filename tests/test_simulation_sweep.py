"""Replications and sweeps: intervals, seeds, grid keys, and identical results on any executor."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from leadsim.errors import ScenarioError
from leadsim.simulation import Scenario, SerialExecutor, replicate, seeds, simulate, sweep
from leadsim.simulation.replication import init_worker


@pytest.fixture(scope="module")
def base():
    return Scenario.queueing(8.0, 3.0, 3, patience_hours=1.0, horizon_days=1.5, warmup_days=0.1)


def test_seeds_are_stable_and_distinct():
    a = seeds(5, 4)
    assert a == seeds(5, 4)
    assert len(set(a)) == 4
    assert seeds(6, 4) != a


def test_replicate_interval_matches_a_hand_computed_t_interval(base):
    runs = replicate(base, 5, seed=3, runs=True)
    ci = replicate(base, 5, seed=3)
    x = np.array([simulate(base, seed=s).p_wait for s in seeds(3, 5)])
    np.testing.assert_allclose(runs["p_wait"].to_numpy(), x)
    hw = 2.7764451051977987 * x.std(ddof=1) / np.sqrt(5)  # t(0.975, 4)
    assert ci.loc["p_wait", "mean"] == pytest.approx(x.mean())
    assert ci.loc["p_wait", "half_width"] == pytest.approx(hw)
    with pytest.raises(ScenarioError, match="replications"):
        replicate(base, 1)


def test_sweep_grid_keys_reach_into_the_definition():
    from leadsim import load_definition

    # the queueing model needs no definition; give it one so the grid has something to reach into
    s = Scenario.queueing(8.0, 3.0, 3, horizon_days=0.5, warmup_days=0.1).with_values(
        {"definition": load_definition().to_dict()})
    out = sweep(s, {"definition.thresholds.mql": [80, 120], "definition.sla.clocks.touch.levels.1.offset": [0.5, 1]},
                replications=2, executor=SerialExecutor(), progress=False)
    assert len(out[["definition.thresholds.mql", "definition.sla.clocks.touch.levels.1.offset"]]
               .drop_duplicates()) == 4
    with pytest.raises(ScenarioError, match="unknown key 'sdr_headcont'"):
        sweep(s, {"sdr_headcont": [1, 2]}, replications=2, executor=SerialExecutor(), progress=False)
    with pytest.raises(ScenarioError, match="non-empty list"):
        sweep(s, {"sdr_headcount": []}, replications=2, executor=SerialExecutor(), progress=False)


def test_more_sdrs_shorten_the_wait(base):
    out = sweep(base, {"sdr_headcount": [3, 5]}, replications=3, executor=SerialExecutor(), progress=False)
    w = out[out["kpi"] == "mean_wait_hours"].set_index("sdr_headcount")["mean"]
    assert w[5] < w[3]


def test_same_results_serial_thread_and_process_pool(base):
    grid = {"sdr_headcount": [3, 4]}
    serial = sweep(base, grid, replications=2, executor=SerialExecutor(), progress=False)
    with cf.ThreadPoolExecutor(2) as ex:
        threads = sweep(base, grid, replications=2, executor=ex, progress=False)
    pool = sweep(base, grid, replications=2, progress=False)  # the default local process pool
    pd.testing.assert_frame_equal(serial, threads)
    pd.testing.assert_frame_equal(serial, pool)


def test_same_results_on_a_dask_cluster(base):
    import distributed  # in the test extra

    grid = {"sdr_headcount": [3, 4]}
    serial = sweep(base, grid, replications=2, executor=SerialExecutor(), progress=False)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None)
    try:
        with distributed.Client(cluster) as client:
            dask = sweep(base, grid, replications=2, executor=client.get_executor(), progress=False)
    finally:
        cluster.close()
    pd.testing.assert_frame_equal(serial, dask)


def test_same_results_on_spawned_workers_started_by_init_worker(base):
    grid = {"sdr_headcount": [3, 4]}
    serial = sweep(base, grid, replications=2, executor=SerialExecutor(), progress=False)
    with cf.ProcessPoolExecutor(2, mp_context=mp.get_context("spawn"), initializer=init_worker) as ex:
        spawned = sweep(base, grid, replications=2, executor=ex, progress=False)
    pd.testing.assert_frame_equal(serial, spawned)


def test_importing_the_simulation_leaves_scipy_out():
    # SciPy (only for the t quantile of an interval) was about half of a fresh worker's import time.
    code = "import sys, leadsim.simulation; print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_share_interval_stays_within_0_and_1_and_matches_a_hand_computed_one():
    from leadsim.simulation import confidence_intervals

    runs = pd.DataFrame({"breach_rate.response.1": [0.0, 0.0, 0.1], "sqls_per_week": [1.0, 2.0, 9.0]})
    ci = confidence_intervals(runs)
    hw = 4.302652729911275 * np.std([0.0, 0.0, 0.1], ddof=1) / np.sqrt(3)  # t(0.975, 2)
    assert ci.loc["breach_rate.response.1", "half_width"] == pytest.approx(hw)
    assert ci.loc["breach_rate.response.1", "lo"] == 0.0  # 0.0333 - 0.1434 < 0: kept at 0
    assert ci.loc["breach_rate.response.1", "hi"] == pytest.approx(0.1 / 3 + hw)
    assert ci.loc["sqls_per_week", "lo"] == 0.0
    ones = confidence_intervals(pd.DataFrame({"lead_to_sales_lead": [1.0, 0.9, 1.0]}))
    assert ones.loc["lead_to_sales_lead", "hi"] == 1.0


def test_sweep_differences_are_paired_by_seed_and_bonferroni_corrected(base):
    from scipy import stats

    out = sweep(base, {"sdr_headcount": [3, 4, 5]}, replications=4, seed=8, executor=SerialExecutor(),
                progress=False, baseline={"sdr_headcount": 4})
    runs = {c: replicate(base.with_values({"sdr_headcount": c, "queueing_spec.servers": c}), 4, seed=8, runs=True)
            for c in (3, 4, 5)}
    for c in (3, 5):
        d = (runs[c]["mean_wait_hours"] - runs[4]["mean_wait_hours"]).to_numpy()
        hw = stats.t.ppf(1 - 0.05 / 2 / 2, 3) * d.std(ddof=1) / 2  # two comparisons: 97.5% each
        row = out[(out["kpi"] == "mean_wait_hours") & (out["sdr_headcount"] == c)].iloc[0]
        assert row["diff"] == pytest.approx(d.mean())
        assert (row["diff_lo"], row["diff_hi"]) == pytest.approx((d.mean() - hw, d.mean() + hw))
    assert out[out["is_baseline"]]["sdr_headcount"].unique().tolist() == [4]
    assert "4 replications" in out.attrs["method"] and "Bonferroni-corrected for 2 comparisons" in out.attrs["method"]
    assert "indicative only" in out.attrs["method"]
    with pytest.raises(ScenarioError, match="baseline"):
        sweep(base, {"sdr_headcount": [3, 4]}, replications=2, executor=SerialExecutor(), progress=False,
              baseline={"sdr_headcount": 7})


def test_replications_are_added_until_the_interval_is_narrow_enough_or_the_budget_is_spent(base):
    wide = replicate(base, 2, seed=1, half_width={"p_wait": 1.0})
    assert wide.loc["p_wait", "n"] == 10 and wide.attrs["stopped"].startswith("target half-widths met after 10")
    narrow = replicate(base, 2, seed=1, half_width={"p_wait": 1e-9}, budget=15, step=5)
    assert narrow.loc["p_wait", "n"] == 15 and narrow.attrs["stopped"].startswith("budget of 15 replications spent")
    assert "p_wait" in narrow.attrs["stopped"] and "warm-up" in narrow.attrs["method"]
    first = replicate(base, 10, seed=1, runs=True)
    more = replicate(base, 2, seed=1, half_width={"p_wait": 1e-9}, budget=15, runs=True)
    pd.testing.assert_frame_equal(more.iloc[:10], first)  # added replications extend the same seeds
    with pytest.raises(ScenarioError, match="unknown KPI"):
        replicate(base, 2, seed=1, half_width={"p_wiat": 0.1})


def test_a_sweep_adds_replications_at_every_point_until_each_interval_is_narrow_enough(base):
    grid = {"sdr_headcount": [3, 4]}
    out = sweep(base, grid, replications=2, seed=2, executor=SerialExecutor(), progress=False,
                half_width={"p_wait": 1e-9}, budget=15)
    assert set(out["n"]) == {15} and out.attrs["stopped"].startswith("budget of 15 replications spent")
    plain = sweep(base, grid, replications=15, seed=2, executor=SerialExecutor(), progress=False)
    pd.testing.assert_frame_equal(out, plain)  # the same seeds, in the same order, as asking for 15 at once
    easy = sweep(base, grid, replications=2, seed=2, executor=SerialExecutor(), progress=False,
                 half_width={"p_wait": 1.0})
    assert set(easy["n"]) == {10} and easy.attrs["stopped"] == "target half-widths met after 10 replications"

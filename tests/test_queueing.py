"""Erlang C and Erlang A against hand-computed and closed-form values."""

from __future__ import annotations

import math

import pytest

from leadsim.errors import ScenarioError
from leadsim.simulation.queueing import erlang_a, erlang_c


def test_mm1_is_rho_and_textbook_wait():
    # M/M/1: P(wait) = rho, Wq = rho / (mu - lam)
    lam, mu = 3.0, 4.0
    r = erlang_c(lam, mu, 1)
    assert r.p_wait == pytest.approx(0.75)
    assert r.mean_wait_hours == pytest.approx(0.75 / 1.0)
    assert r.utilisation == pytest.approx(0.75)


def test_mm2_hand_computed():
    # M/M/2: C = 2 rho^2 / (1 + rho); lam = 2, mu = 1.5 -> rho = 2/3 -> C = 8/15
    r = erlang_c(2.0, 1.5, 2)
    assert r.p_wait == pytest.approx(8 / 15)
    assert r.mean_wait_hours == pytest.approx((8 / 15) / (3.0 - 2.0))


def test_erlang_c_textbook_table_value():
    # a = 10 Erlang on 12 agents: classic call-centre table value C = 0.4494 (4 d.p.)
    r = erlang_c(10.0, 1.0, 12)
    assert r.p_wait == pytest.approx(0.4494, abs=5e-5)


def test_erlang_c_refuses_an_unstable_queue():
    with pytest.raises(ScenarioError, match="never drain"):
        erlang_c(10.0, 2.0, 5)
    with pytest.raises(ScenarioError, match="servers"):
        erlang_c(1.0, 2.0, 0)
    with pytest.raises(ScenarioError, match="arrival rate"):
        erlang_c(-1.0, 2.0, 1)


def test_erlang_a_with_theta_equal_mu_is_an_infinite_server_queue():
    # every lead present leaves at rate mu whether served or waiting -> N ~ Poisson(a)
    lam, mu, c = 6.0, 2.0, 4
    a = lam / mu
    pmf = [math.exp(-a + k * math.log(a) - math.lgamma(k + 1)) for k in range(200)]
    r = erlang_a(lam, mu, c, theta=mu)
    assert r.p_wait == pytest.approx(sum(pmf[c:]), rel=1e-9)
    eq = sum((k - c) * p for k, p in enumerate(pmf) if k > c)
    assert r.mean_wait_hours == pytest.approx(eq / lam, rel=1e-9)
    assert r.p_abandon == pytest.approx(mu * eq / lam, rel=1e-9)


def test_erlang_a_tends_to_erlang_c_without_abandonment():
    c_ref = erlang_c(8.0, 3.0, 4)
    a = erlang_a(8.0, 3.0, 4, theta=1e-7)
    assert a.p_wait == pytest.approx(c_ref.p_wait, rel=1e-4)
    assert a.mean_wait_hours == pytest.approx(c_ref.mean_wait_hours, rel=1e-4)
    assert a.p_abandon < 1e-5


def test_erlang_a_single_server_hand_computed():
    # c = 1, lam = 1, mu = 1, theta = 1: pi_n = pi_0 / n!  (M/M/inf again, a = 1)
    r = erlang_a(1.0, 1.0, 1, theta=1.0)
    assert r.p_wait == pytest.approx(1 - math.exp(-1))
    # c = 1, lam = 2, mu = 1, theta = 2: pi_1 = 2 pi_0, pi_{1+j} = pi_1 * prod 2/(1+2i)
    terms = [1.0, 2.0]
    for j in range(1, 60):
        terms.append(terms[-1] * 2.0 / (1 + 2 * j))
    z = sum(terms)
    eq = sum((n - 1) * t for n, t in enumerate(terms) if n > 1) / z
    r = erlang_a(2.0, 1.0, 1, theta=2.0)
    assert r.p_wait == pytest.approx(sum(terms[1:]) / z)
    assert r.p_abandon == pytest.approx(2.0 * eq / 2.0)
    assert r.mean_wait_hours == pytest.approx(eq / 2.0)


def test_erlang_a_overload_is_finite_and_abandons():
    r = erlang_a(30.0, 2.0, 5, theta=4.0)  # offered 15 Erlang on 5 agents
    assert 0.6 < r.p_abandon < 1
    assert r.utilisation == pytest.approx((1 - r.p_abandon) * 30.0 / (2.0 * 5), rel=1e-9)

"""Allocations: the apportionment methods against the `apportionment` package, their properties,
money to the penny, and the formula's errors."""

import math
import random
from fractions import Fraction

import apportionment.methods as oracle
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clustergeo as cg
from clustergeo.allocate import allocate, apportion, read_section
from clustergeo.check import check_allocation
from clustergeo.errors import DataError, RulesError

ORACLE = {"hamilton": "largest_remainder", "webster": "saintelague", "huntington-hill": "huntington"}
weights = st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=12)


@pytest.mark.parametrize("method", sorted(ORACLE))
def test_methods_agree_with_the_apportionment_package(method):
    rng = random.Random(7)
    compared = 0
    for _ in range(400):
        v = [rng.randint(1, 5000) for _ in range(rng.randint(1, 15))]
        seats = rng.randint(len(v), 120)
        try:
            want = oracle.compute(ORACLE[method], v, seats, tiesallowed=False)
        except oracle.TiesException:
            continue
        assert apportion(v, seats, method=method) == list(want), (v, seats)
        compared += 1
    assert compared > 300


@settings(max_examples=150, deadline=None)
@given(weights, st.integers(min_value=0, max_value=80))
def test_webster_is_house_monotone(w, h):
    a, b = apportion(w, h), apportion(w, h + 1)
    assert all(y >= x for x, y in zip(a, b)) and sum(b) == h + 1


@settings(max_examples=150, deadline=None)
@given(weights, st.integers(min_value=0, max_value=80))
def test_hamilton_stays_within_quota(w, h):
    got = apportion(w, h, method="hamilton")
    assert sum(got) == h
    for wi, g in zip(w, got):
        q = Fraction(wi * h, sum(w))
        assert math.floor(q) <= g <= math.ceil(q)


@settings(max_examples=100, deadline=None)
@given(weights, st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=3))
def test_huntington_hill_gives_everyone_one_and_bounds_hold(w, extra, lo):
    h = len(w) * max(lo, 1) + extra
    got = apportion(w, h, method="huntington-hill", minimum=lo)
    assert sum(got) == h and min(got) >= max(lo, 1)
    hi = max(lo, 1) + 2
    if len(w) * hi >= h:
        for m in ("webster", "hamilton", "huntington-hill"):
            got = apportion(w, h, method=m, minimum=lo, maximum=hi)
            assert sum(got) == h and all(max(lo, 1 if m == "huntington-hill" else 0) <= g <= hi for g in got)


def _schools(counts, seed=0):
    rng = random.Random(seed)
    rows = [
        {"school_id": f"{c}{i}", "cluster": c, "pupils": rng.randint(20, 600), "fsm_pupils": rng.randint(0, 80)}
        for c, n in counts.items()
        for i in range(n)
    ]
    return pd.DataFrame(rows)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=0, max_value=1000),
    st.sampled_from(["hamilton", "webster"]),
)
def test_money_sums_exactly_to_the_penny(pence, rate_pence, method):
    s = _schools({"A": 3, "B": 5, "C": 2, "D": 4}, seed=pence % 97)
    fixed = rate_pence * int(s["pupils"].sum())
    total = (fixed + pence) / 100
    a = allocate(
        s,
        total=round(total, 2),
        rates={"pupils": rate_pence / 100},
        by={"fsm_pupils": 1, "pupils": 1},
        unit="pounds",
        method=method,
        name="money",
    )
    assert int(a.table["pence"].sum()) == fixed + pence
    assert check_allocation(a.table, total=round(total, 2), unit="pounds") == []


def test_pounds_per_pupil_is_exact_and_said():
    s = _schools({"A": 3, "B": 5})
    a = allocate(s, rates={"pupils": 2}, unit="pounds", name="administration")
    assert list(a.table["pence"]) == [200 * int(s[s.cluster == c].pupils.sum()) for c in ("A", "B")]
    assert "£2.00 per pupil" in a.formula and "exact" in a.formula


def test_one_post_per_cluster_and_a_formula_share():
    s = _schools({"A": 3, "B": 5, "C": 1})
    a = allocate(s, per_cluster=1, name="CIIL")
    assert list(a.table["amount"]) == [1, 1, 1] and a.total == 3
    b = allocate(s, total=10, per_cluster=1, by={"pupils": 1}, name="teachers")
    assert b.table["amount"].sum() == 10 and b.table["amount"].min() >= 1
    assert "1 post for every cluster" in b.formula and "100% by pupils" in b.formula


def test_formula_errors_name_the_key():
    s = _schools({"A": 3, "B": 5})
    with pytest.raises(RulesError, match="measure 'asn' is not"):
        allocate(s, total=5, by={"asn": 1})
    with pytest.raises(RulesError, match="method"):
        allocate(s, total=5, by={"pupils": 1}, method="dhondt-ish")
    with pytest.raises(RulesError, match="minimum"):
        allocate(s, total=3, by={"pupils": 1}, minimum=2)
    with pytest.raises(RulesError, match="key 'total'"):
        allocate(s, total=2.5, by={"pupils": 1})
    with pytest.raises(RulesError, match="say how"):
        allocate(s, by={"pupils": 1})
    with pytest.raises(DataError, match="fsm_pupils"):
        allocate(s.assign(fsm_pupils=[None] + [1] * (len(s) - 1)), total=4, by={"fsm_pupils": 1})
    with pytest.raises(RulesError, match="unknown key 'totl'"):
        read_section([{"name": "x", "totl": 4}], "s.toml")
    with pytest.raises(RulesError, match="key 'method'"):
        read_section([{"name": "x", "total": 4, "method": "d'hondt"}], "s.toml")
    with pytest.raises(RulesError, match="two"):
        read_section([{"name": "x", "total": 4}, {"name": "x", "total": 4}], "s.toml")


def test_checker_catches_a_wrong_allocation():
    t = pd.DataFrame({"cluster": ["A", "B"], "amount": [3, 1.5]})
    problems = check_allocation(t, total=5, minimum=2)
    assert any("whole" in p for p in problems) and any("add up" in p for p in problems)
    assert any("below the minimum" in p for p in problems)


def test_shipped_measures():
    nl = cg.datasets.load("north-lanarkshire").schools
    for col in ("asn_pupils", "fsm_p1_p5_pupils", "fsm_p6_s6_pupils", "simd_q1_pupils", "teacher_fte"):
        assert nl[col].notna().all() and (nl[col] >= 0).all()
    simd = nl[[c for c in nl.columns if c.startswith("simd_")]].sum(axis=1)
    assert (simd - nl["pupils"]).abs().max() < 1e-9  # hidden cells share the rest of the roll
    assert (nl["asn_pupils"] <= nl["pupils"]).all()
    assert nl["suppressed"].str.contains("fsm_p6_s6_pupils").sum() == 31
    nf = cg.datasets.load("norfolk").schools
    assert int(nf["fsm_pupils"].sum()) == 26870 and (nf["school_age_pupils"] <= nf["pupils"]).all()


def test_bad_measure_values_name_school_and_column(tmp_path):
    nl = cg.datasets.load("north-lanarkshire").schools
    path = cg.datasets.data_dir() / "north-lanarkshire" / "measures.csv"
    raw = pd.read_csv(path, dtype=str)
    raw.loc[0, "asn_pupils"] = "lots"
    raw.loc[1, "fsm_p6_s6_pupils"] = "99999"
    with pytest.raises(DataError) as e:
        cg.datasets.read_measures(raw, nl, key="seed_code")
    text = str(e.value)
    assert f"school {raw.loc[0, 'seed_code']}" in text and "'asn_pupils'" in text and "more than the" in text
    with pytest.raises(DataError, match="no row in the measures table"):
        cg.datasets.read_measures(raw.iloc[2:], nl, key="seed_code")


def test_allocate_without_a_name_says_what_once():
    schools = pd.DataFrame({"school_id": ["a", "b", "c"], "cluster": ["X", "X", "Y"], "pupils": [10, 20, 30]})
    assert allocate(schools, total=6, by={"pupils": 1}).formula.startswith("6 posts among 2 clusters")
    a = allocate(schools, total=6, by={"pupils": 1}, name="teachers")
    assert a.formula.startswith("6 posts of teachers among")

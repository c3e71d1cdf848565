"""transformer.groups.shares_of: how a fanned-out transform's closed groups of dates become the
TransformDates Map's items — heavy groups in pieces of their cells, the rest packed whole."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from transformer import groups


@st.composite
def _groups(draw):
    dates = [f"2025-06-{d:02}" for d in range(1, draw(st.integers(1, 12)) + 1)]
    cuts = sorted(set(draw(st.lists(st.integers(1, len(dates)), max_size=len(dates)))) | {len(dates)})
    closed = [dates[a:b] for a, b in zip([0, *cuts], cuts, strict=False) if dates[a:b]]
    weight = {d: draw(st.integers(0, 10_000)) for d in dates}
    return closed, weight, draw(st.integers(1, 70))


@given(_groups())
def test_every_date_is_covered_once_and_split_groups_are_whole_sets_of_residues(case) -> None:
    closed, weight, bins = case
    binned, shares = groups.shares_of(closed, weight, bins)
    assert len(binned) == len(shares)
    whole = [tuple(b) for b, (_, of) in zip(binned, shares, strict=True) if of == 1]
    split_dates = set()
    i = 0
    while i < len(binned):
        residue, of = shares[i]
        if of > 1:
            # a split group: `of` consecutive entries of one closed group, residues 0..of-1
            assert of & (of - 1) == 0 and of <= min(bins, 64)
            assert [shares[i + r] for r in range(of)] == [(r, of) for r in range(of)]
            assert all(binned[i + r] == binned[i] for r in range(of))
            assert sorted(binned[i]) in [sorted(g) for g in closed]
            split_dates |= set(binned[i])
            i += of
        else:
            assert residue == 0
            i += 1
    packed = [d for b in whole for d in b]
    assert len(packed) == len(set(packed)) and not set(packed) & split_dates
    assert set(packed) | split_dates == {d for g in closed for d in g}
    # a closed group is never cut by the packing
    for group in closed:
        assert set(group) <= split_dates or any(set(group) <= set(b) for b in whole)
    assert len(binned) <= bins


def test_a_group_weighing_less_than_two_bins_stays_whole() -> None:
    assert groups.shares_of([["a"], ["b"]], {"a": 60, "b": 40}, 2) == ([["a"], ["b"]], [(0, 1), (0, 1)])
    # a group of no weight still needs a bin: the heavy one gets the others
    assert groups.shares_of([["a"], ["b"]], {"a": 100, "b": 0}, 2) == ([["a"], ["b"]], [(0, 1), (0, 1)])
    assert groups.shares_of([["a"], ["b"]], {"a": 100, "b": 0}, 4) == ([["a"], ["a"], ["b"]], [(0, 2), (1, 2), (0, 1)])

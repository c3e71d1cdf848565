"""Issue 38: two batches of one date commit side by side. Each computes its rebuild at its plan,
without the date's lease (transformer.cells.compute); only the write takes turns, onto what the
date holds by then (transformer.rebase). When the other batch's write conflicts with it (the same
order in both), it rebuilds under the lease instead. Either way the batches end as if they had run
alone in the order they finished."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.functional.test_concurrent_commits import STEP_FILES, _serial, _steps, _stepwise
from tests.functional.test_recovery import CATALOGUE

pytestmark = pytest.mark.functional

ORDERS = "order_id,user_id,order_date,status,total_amount\n"
ITEMS = "order_id,product_id,quantity,unit_price\n"
DAY = "2025-06-01"  # the date the catalogue's first order is on: every batch below adds to it
SAME_DATE = {
    **STEP_FILES,
    "orders_a.csv": f"{ORDERS}A1,U5,{DAY},delivered,20.00\nA2,U6,{DAY},shipped,5.00\n".encode(),
    "order_items_a.csv": f"{ITEMS}A1,P1,2,10.00\nA2,P2,1,5.00\n".encode(),
    "orders_b.csv": f"{ORDERS}B1,U5,{DAY},returned,10.00\n".encode(),
    "order_items_b.csv": f"{ITEMS}B1,P1,1,10.00\n".encode(),
    "orders_c.csv": f"{ORDERS}A1,U7,{DAY},cancelled,20.00\n".encode(),  # A1 again: conflicts with a
    "orders_d.csv": f"{ORDERS}O1,U1,{DAY},returned,10.00\n".encode(),  # the first batch's O1 again
}
FIRST = sorted(CATALOGUE)
A, B, C = ["order_items_a.csv", "orders_a.csv"], ["order_items_b.csv", "orders_b.csv"], ["orders_c.csv"]
D = ["orders_d.csv"]
# the first batch alone (validate, plan, hold, rebuild, finish); then both validated and planned
# (each computing its rebuild) before either holds the date; then one after the other
BOTH_PLANNED = [0] * 5 + [1, 2, 1, 2, 1, 1, 1, 2, 2, 2]


@pytest.mark.parametrize(
    ("second", "under_lease"),
    [
        (B, 0),  # other orders: its parts go in beside the first batch's
        (C, 1),  # A1 again: the first batch stored it in a part the second did not read
    ],
)
def test_a_second_batch_of_the_same_date_writes_the_rebuild_it_computed_unless_it_conflicts(
    second: list[str], under_lease: int
) -> None:
    batches = [FIRST, A, second]
    stepped = _steps(batches, BOTH_PLANNED, SAME_DATE)
    assert stepped.finished == [0, 1, 2]
    assert stepped.state == _serial(batches, SAME_DATE)
    assert stepped.abandoned == {0: 0, 1: 0, 2: under_lease}  # the computed rebuilds given up


def test_a_stored_order_re_sent_beside_another_batch_keeps_its_rebuild_when_the_index_runs_merge() -> None:
    """D re-sends O1, stored before; A's finish merges the key index's runs (the fourth run), so a
    run D did not list names O1, but in the part D read: D writes the rebuild it computed."""
    batches = [FIRST, B, ["orders_7.csv"], A, D]
    both_planned = [3, 4, 3, 4, 3, 3, 3, 4, 4, 4]
    stepped = _steps(batches, [0] * 5 + [1] * 5 + [2] * 5 + both_planned, SAME_DATE)
    assert stepped.finished == [0, 1, 2, 3, 4]
    assert stepped.state == _serial(batches, SAME_DATE)
    assert stepped.abandoned == dict.fromkeys(range(5), 0)


@settings(max_examples=6, deadline=None)
@given(st.permutations([A, B, C]), st.lists(st.integers(0, 2), min_size=6, max_size=24))
def test_batches_of_one_date_in_any_interleaving_end_as_run_alone_in_their_finishing_order(
    order: list[list[str]], picks: list[int]
) -> None:
    """Three batches of one date (two of them sharing an order), their steps interleaved at random
    after the first: the state is the serial one in the order they finished."""
    batches = [FIRST, *order]
    state, finished = _stepwise(batches, [0] * 5 + [1 + p for p in picks if p < 3], SAME_DATE)
    assert state == _serial([batches[i] for i in finished], SAME_DATE)


WRITE_FENCES = [None, "the curated write", "the KPI write"]


@settings(max_examples=4, deadline=None)
@given(
    st.permutations([A, B, C]),
    st.lists(st.integers(0, 2), min_size=6, max_size=24),
    st.lists(st.sampled_from(WRITE_FENCES), min_size=3, max_size=3),
)
@example([A, B, C], [0, 1, 0, 1, 0, 1, 0, 1, 2, 2, 2, 2, 2], ["the KPI write", "the curated write", None])
def test_same_date_batches_killed_at_their_writes_and_run_again_end_as_run_alone(
    order: list[list[str]], picks: list[int], kills: list[str | None]
) -> None:
    """Three batches of one date (two sharing an order) side by side, each possibly killed at its
    write's fences and run again: the KPIs, the pending set, the curated rows and the catalogue are
    the serial ones in the order they finished (a batch run again has reports of both attempts)."""
    batches = [FIRST, *order]
    stepped = _steps(batches, [0] * 5 + [1 + p for p in picks], SAME_DATE, [None, *kills])
    assert stepped.state[:4] == _serial([batches[i] for i in stepped.finished], SAME_DATE)[:4]
    assert [stepped.killed[i] for i in range(1, 4)] == [int(k is not None) for k in kills]  # each kill happened once


FENCES = [  # every fence a commit passes: on its date leases, then on the commit lease
    None,
    "the curated write",
    "the KPI write",
    "the key index merge",
    "the product catalogue write",
    "the pending commit",
]


@st.composite
def _histories(draw):
    """After the catalogue's batch, two or three batches of any files: re-sent orders moving days
    (and so cells), items before their orders or re-sent under another, recategorised products,
    orders of one date sharing it; each batch possibly killed at any fence."""
    names = draw(st.permutations(sorted(set(SAME_DATE) - set(FIRST))))
    used = names[: draw(st.integers(2, 8))]
    k = draw(st.integers(2, min(3, len(used))))
    cuts = sorted(draw(st.lists(st.integers(1, len(used) - 1), min_size=k - 1, max_size=k - 1, unique=True)))
    batches = [sorted(used[a:b]) for a, b in zip([0, *cuts], [*cuts, len(used)], strict=True)]
    picks = draw(st.lists(st.integers(1, k), min_size=2 * k, max_size=8 * k))
    kills = draw(st.lists(st.sampled_from(FENCES), min_size=k, max_size=k))
    return [FIRST, *batches], picks, [None, *kills]


@settings(max_examples=4, deadline=None)
@given(_histories())
@example(
    (
        [FIRST, A, C, ["orders_2.csv", "products_2.csv"]],
        [1, 2, 3, 1, 2, 3, 1, 2, 3, 3, 2, 1],
        [None, "the pending commit", "the key index merge", "the product catalogue write"],
    )
)
def test_any_history_side_by_side_killed_anywhere_ends_as_run_alone(history) -> None:
    """The combined property: any batches of SAME_DATE side by side, in cells of 2 items (dates in
    several buckets, parts of several counts), each possibly killed at any fence and run again,
    end with the KPIs, the pending set, the curated rows and the catalogue of the batches run
    alone in the order they finished."""
    from unittest import mock

    from ecompipe.core import cells

    batches, picks, kills = history
    with mock.patch.object(cells, "SPLIT_ITEMS", 2), mock.patch.object(cells, "MIN_PART_ROWS", 2):
        stepped = _steps(batches, [0] * 5 + picks, SAME_DATE, kills)
        serial = _serial([batches[i] for i in stepped.finished], SAME_DATE)
    assert stepped.state[:4] == serial[:4]
    assert [stepped.killed[i] for i in range(len(batches))] == [int(k is not None) for k in kills]

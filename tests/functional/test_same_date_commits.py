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
    # new orders of two other groups of DAY's cells, when in groups of four (B1's is group 2)
    "orders_e.csv": f"{ORDERS}D2,U8,{DAY},delivered,7.00\n".encode(),  # group 3
    "order_items_e.csv": f"{ITEMS}D2,P2,1,7.00\n".encode(),
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


@settings(max_examples=3, deadline=None)
@given(st.permutations([A, B, C]), st.lists(st.integers(0, 2), min_size=6, max_size=24))
def test_batches_of_one_date_in_any_interleaving_end_as_run_alone_in_their_finishing_order(
    order: list[list[str]], picks: list[int]
) -> None:
    """Three batches of one date (two of them sharing an order), their steps interleaved at random
    after the first: the state is the serial one in the order they finished."""
    batches = [FIRST, *order]
    state, finished = _stepwise(batches, [0] * 5 + [1 + p for p in picks if p < 3], SAME_DATE)
    assert state == _serial([batches[i] for i in finished], SAME_DATE)


E = ["order_items_e.csv", "orders_e.csv"]


def _in_groups(groups: int):
    """DAY in cells of one item, so that it has four buckets once A is written: with GROUPS of
    `groups` (four: it is then written per group of its cells; eight: whole, as a small date is)."""
    from contextlib import ExitStack
    from unittest import mock

    from ecompipe.core import cells

    stack = ExitStack()
    for name, value in (("SPLIT_ITEMS", 1), ("MIN_PART_ROWS", 1), ("GROUPS", groups)):
        stack.enter_context(mock.patch.object(cells, name, value))
    return stack


@pytest.mark.parametrize(("groups", "side_by_side"), [(4, True), (8, False)])
def test_batches_writing_different_groups_of_a_date_hold_them_side_by_side(groups: int, side_by_side: bool) -> None:
    """B and E bring orders of groups 2 and 3 of DAY, now in four buckets: written per group, each
    holds only its group's lease, and neither waits for the other; the date held whole, the second
    to hold it waits. Either way they end as run alone in the order they finished."""
    batches = [FIRST, A, B, E]
    with _in_groups(groups):
        stepped = _steps(batches, [0] * 5 + [1] * 5 + [2, 3] * 5, SAME_DATE)
        serial = _serial([batches[i] for i in stepped.finished], SAME_DATE)
    assert stepped.state == serial
    assert stepped.abandoned == dict.fromkeys(range(4), 0)
    assert (stepped.waited[2] + stepped.waited[3] == 0) == side_by_side


def test_a_held_item_a_killed_run_wrote_and_another_batch_took_stays_stored() -> None:
    """The last batch holds D2's item (D2 unknown); the next, which brings D2, resolves the item,
    writes it and is killed before its commit. Another batch then finds D2 stored and takes the
    item from the pending set, keeping the row the killed run stamped; when the killed batch runs
    again it no longer resolves the item. The row must stay (it is the other batch's now), as in
    the serial run in that order, where the other batch leaves the item held and the killed one
    resolves it."""
    fourth = sorted(["order_items_3.csv", "order_items_e.csv", "orders_4.csv", "orders_c.csv", "orders_d.csv"])
    batches = [FIRST, ["orders_e.csv"], ["orders_3.csv"], fourth]
    stepped = _steps(batches, [0] * 5 + [3] * 6, SAME_DATE, [None, "the KPI write", None, None])
    assert stepped.finished == [0, 3, 2, 1] and stepped.killed[1] == 1
    assert stepped.state[:4] == _serial([batches[i] for i in stepped.finished], SAME_DATE)[:4]


def test_a_rebuild_reading_items_of_products_another_batch_has_not_committed_yet_goes_on() -> None:
    """The third batch brings P3 and an item of it; the last brings that item's order, resolves it
    beside the third and is killed in its finish. Rebuilds computed meanwhile read the item stored
    before the catalogue holds P3: they score it in no category (a write of theirs conflicts on the
    catalogue, or the run again rewrites the item) instead of failing, and all end as run alone."""
    last = ["order_items_a.csv", "order_items_t2.csv", "order_items_t3.csv", "orders_4.csv"]
    batches = [FIRST, C, ["order_items_3.csv", "products_2.csv", "products_3.csv"], last]
    picks = [3, 2, 1, 1, 3, 2, 1, 2, 1, 3, 1, 1]
    stepped = _steps(batches, [0] * 5 + picks, SAME_DATE, [None, None, None, "the key index merge"])
    assert stepped.killed[3] == 1
    assert stepped.state[:4] == _serial([batches[i] for i in stepped.finished], SAME_DATE)[:4]


WRITE_FENCES = [None, "the curated write", "the KPI write"]


@settings(max_examples=2, deadline=None)
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


@settings(max_examples=1, deadline=None)  # (and the examples below)
@given(_histories(), st.sampled_from([2, 8]))
@example(
    (
        [FIRST, A, C, ["orders_2.csv", "products_2.csv"]],
        [1, 2, 3, 1, 2, 3, 1, 2, 3, 3, 2, 1],
        [None, "the pending commit", "the key index merge", "the product catalogue write"],
    ),
    8,
)
@example(([FIRST, A, [*B, *E], C], [1, 1, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3], [None, None, "the KPI write", None]), 2)
def test_any_history_side_by_side_killed_anywhere_ends_as_run_alone(history, groups: int) -> None:
    """The combined property: any batches of SAME_DATE side by side, in cells of 2 items (dates in
    several buckets, parts of several counts), each possibly killed at any fence and run again,
    end with the KPIs, the pending set, the curated rows and the catalogue of the batches run
    alone in the order they finished; with GROUPS of 2, dates of two buckets or more are written
    per group of their cells (batches of one date hold different groups at once)."""
    from unittest import mock

    from ecompipe.core import cells

    batches, picks, kills = history
    with (
        mock.patch.object(cells, "SPLIT_ITEMS", 2),
        mock.patch.object(cells, "MIN_PART_ROWS", 2),
        mock.patch.object(cells, "GROUPS", groups),
    ):
        stepped = _steps(batches, [0] * 5 + picks, SAME_DATE, kills)
        serial = _serial([batches[i] for i in stepped.finished], SAME_DATE)
    assert stepped.state[:4] == serial[:4]
    assert [stepped.killed[i] for i in range(len(batches))] == [int(k is not None) for k in kills]

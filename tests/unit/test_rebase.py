"""transformer.rebase.onto (pure): a rebuild computed from one manifest applied onto the manifest a
date holds by the time it is written."""

from __future__ import annotations

from ecompipe.aws.cell_store import DateCells, Part
from transformer.rebase import onto


def _part(pid: str, n: int = 1, modulus: int = 1) -> Part:
    return Part(pid, n, n, {"orders": n}, modulus)


def _cells(cells: dict[int, list[Part]], buckets: int = 1, customers: str | None = "c0") -> DateCells:
    return DateCells("2025-06-01", buckets, cells, customers, 3)


def test_its_parts_go_in_beside_what_another_batch_added_and_its_removed_parts_go() -> None:
    before = _cells({0: [_part("p1"), _part("p2")]})
    after = _cells({0: [_part("p1"), _part("mine")]})  # p2 rewritten as "mine"
    current = _cells({0: [_part("p1"), _part("p2"), _part("theirs")]}, customers="c1")
    merged = onto(current, before, after, set())
    assert merged is not None and [p.id for _, p in merged.parts()] == ["p1", "theirs", "mine"]
    assert (merged.customers, merged.unique_customers) == ("c1", 3)  # the date's customers as they are now


def test_a_part_it_removes_or_rescores_that_another_batch_removed_is_a_conflict() -> None:
    before = _cells({0: [_part("p1"), _part("p2")]})
    current = _cells({0: [_part("p1"), _part("merged")]})  # another batch merged p2 away
    assert onto(current, before, _cells({0: [_part("p1"), _part("mine")]}), set()) is None
    rescored = _cells({0: [_part("p1"), Part("p2", 1, 1, {"orders": 9})]})
    assert onto(current, before, rescored, {"p2"}) is None
    kept = onto(_cells({0: [_part("p1"), _part("p2")]}), before, rescored, {"p2"})
    assert kept is not None and [p.partial for _, p in kept.parts()] == [{"orders": 1}, {"orders": 9}]


def test_a_new_date_and_a_bucket_count_that_grew_on_either_side() -> None:
    after = _cells({1: [_part("mine", modulus=2)]}, buckets=2)
    merged = onto(None, None, after, set())
    assert merged is not None and merged.buckets == 2 and merged.customers is None
    current = _cells({3: [_part("theirs", modulus=4)]}, buckets=4)
    merged = onto(current, None, after, set())
    assert merged is not None and merged.buckets == 4 and sorted(merged.cells) == [1, 3]

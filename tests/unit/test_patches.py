"""Whole records and patches merged field by field (events.patches, pure): any arrival order of
a set of updates ends in the same item, each field the newest update's that named it."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from events import patches, routing
from events.items import DIGEST, PARTIAL, PATCHED, SEQ, item_of
from events.patches import APPLIED, DUPLICATE, SUPERSEDED, Update, merge

KEY = {"customer_id": "1"}


def _update(payload: dict, seq: int) -> Update:
    accepted = routing.route(payload)
    assert isinstance(accepted, routing.Accepted), accepted
    item = item_of(accepted, seq, "t")
    return Update(
        {k: v for k, v in item.items() if k not in patches.META}, seq, accepted.digest, accepted.patch, ("customer_id",)
    )


def _apply(updates: list[Update]) -> tuple[dict | None, list[str]]:
    item, outcomes = None, []
    for update in updates:
        merged = merge(item, update, "t")
        outcomes.append(merged.outcome)
        item = merged.item if merged.item is not None else item
    return item, outcomes


def _whole(name: str, **more: object) -> dict:
    return {**KEY, "name": name, "email": f"{name.lower()}@example.com", **more}


def test_a_patch_changes_what_it_names_and_keeps_the_rest() -> None:
    item, outcomes = _apply(
        [
            _update(_whole("Ann", phone="1", nickname="A"), 1),
            _update({**KEY, "shipping_address": {"city": "Rome"}, "tier": "gold"}, 2),
        ]
    )
    assert outcomes == [APPLIED, APPLIED]
    assert item is not None and item["name"] == "Ann" and item["phone"] == "1"
    assert item["shipping_address"] == {"city": "Rome"}
    assert json.loads(item["extra"]) == {"nickname": "A", "tier": "gold"}  # undeclared fields one by one
    assert item[SEQ] == 1 and set(item[PATCHED]) == {"shipping_address", "extra.tier"}


def test_an_older_whole_record_keeps_the_newer_patch_and_a_newer_one_replaces_it() -> None:
    older, patch, newer = _update(_whole("Ann"), 1), _update({**KEY, "name": "Bo"}, 2), _update(_whole("Cy"), 3)
    assert _apply([patch, older])[0]["name"] == "Bo"  # type: ignore[index]
    item, outcomes = _apply([older, patch, newer, patch])
    assert item is not None and item["name"] == "Cy" and PATCHED not in item
    assert outcomes == [APPLIED, APPLIED, APPLIED, SUPERSEDED]


def test_a_patch_before_its_entity_is_stored_partial_and_completed_by_the_whole_record() -> None:
    patch = _update({**KEY, "phone": "7"}, 5)
    item, _ = _apply([patch])
    assert item is not None and item[PARTIAL] is True and SEQ not in item and item["phone"] == "7"
    item, _ = _apply([patch, _update(_whole("Ann", phone="1"), 1)])
    assert item is not None and PARTIAL not in item and (item["name"], item["phone"]) == ("Ann", "7")


def test_null_removes_an_optional_field_until_a_newer_update_names_it() -> None:
    item, _ = _apply([_update(_whole("Ann", phone="1"), 1), _update({**KEY, "phone": None}, 2)])
    assert item is not None and "phone" not in item and item[PATCHED]["phone"][0] == 2
    item, _ = _apply([_update({**KEY, "phone": None}, 2), _update(_whole("Ann", phone="1"), 1)])
    assert item is not None and "phone" not in item


def test_the_same_update_twice_is_a_duplicate() -> None:
    patch = _update({**KEY, "phone": "7"}, 5)
    whole = _update(_whole("Ann"), 1)
    assert _apply([whole, patch, patch, whole])[1] == [APPLIED, APPLIED, DUPLICATE, DUPLICATE]


WHOLES = st.builds(
    lambda n, p: _whole(n, **({"phone": p} if p else {})), st.sampled_from(["Ann", "Bo"]), st.sampled_from([None, "1"])
)
PATCH_FIELDS = {
    "name": st.sampled_from(["Cy", "Di"]),
    "phone": st.sampled_from([None, "3"]),
    "tier": st.sampled_from(["gold", None]),
    "city": st.just("Oslo"),
}
PATCHES = st.fixed_dictionaries({}, optional=PATCH_FIELDS).filter(bool).map(lambda d: {**KEY, **d})
PAYLOADS = st.lists(st.one_of(WHOLES, PATCHES), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(PAYLOADS, st.lists(st.integers(1, 4), min_size=6, max_size=6), st.randoms(use_true_random=False))
def test_any_arrival_order_of_whole_records_and_patches_ends_in_the_same_item(
    payloads: list[dict], seqs: list[int], rnd
) -> None:
    updates = [_update(p, s) for p, s in zip(payloads, seqs, strict=False)]  # (equal orders: the digest decides)
    first, _ = _apply(updates)
    shuffled = list(updates)
    rnd.shuffle(shuffled)
    assert _apply(shuffled)[0] == first
    # each field is the newest update's that named it (a whole record names every field)
    assert first is not None
    for name in ("name", "phone"):
        naming = [u for u in updates if not u.patch or name in u.fields]
        if naming:
            newest = max(naming, key=lambda u: u.stamp)
            assert first.get(name) == newest.fields.get(name)
    wholes = [u for u in updates if not u.patch]
    assert (first.get(SEQ), first.get(DIGEST)) == (max(u.stamp for u in wholes) if wholes else (None, None))

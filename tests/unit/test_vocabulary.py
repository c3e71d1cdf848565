"""Closed vocabularies (ecompipe.core.vocabulary): every listed form, in any case and with any
separator, is one stored word; docs/events.md lists exactly the forms the code accepts; the events
models and the CSV validator take them alike."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecompipe.core import vocabulary
from validator import parsing

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"
FORMS = [(name, stored, form) for name, words in vocabulary.VOCABULARIES.items()
         for stored, forms in words.items() for form in (stored, *forms)]  # fmt: skip


def test_every_listed_form_means_one_stored_word_of_its_vocabulary() -> None:
    for name, words in vocabulary.VOCABULARIES.items():
        seen: dict[str, str] = {}
        for stored, forms in words.items():
            for form in (stored, *forms):
                key = vocabulary.word(form)
                assert seen.setdefault(key, stored) == stored, f"{name}: {form!r} is {seen[key]} and {stored}"
                assert vocabulary.stored(name, form) == stored


def _spelt(form: str, draw) -> str:
    """`form` (snake_case) in another case and with other separators, or in camelCase."""
    parts = form.split("_")
    if draw(st.booleans()):
        return parts[0] + "".join(p.capitalize() for p in parts[1:])
    sep = draw(st.sampled_from([" ", "-", "_", " - ", "  "]))
    cased = [draw(st.sampled_from([str.upper, str.lower, str.capitalize]))(p) for p in parts]
    return draw(st.sampled_from(["", " "])) + sep.join(cased) + draw(st.sampled_from(["", " ", "\t"]))


@given(st.sampled_from(FORMS), st.data())
def test_any_case_and_separator_of_a_form_is_its_stored_word(entry, data) -> None:
    name, stored, form = entry
    assert vocabulary.stored(name, _spelt(form, data.draw)) == stored


def test_docs_list_exactly_the_forms_the_code_accepts() -> None:
    rows = re.findall(r"^\| ([a-z ]+) \| `([a-z_]+)` \| (.*) \|$", DOCS.read_text(), flags=re.MULTILINE)
    documented = {(name, stored): tuple(re.findall(r"`([a-z_]+)`", rest)) for name, stored, rest in rows
                  if name in vocabulary.VOCABULARIES}  # fmt: skip
    code = {(name, stored): forms for name, words in vocabulary.VOCABULARIES.items() for stored, forms in words.items()}
    assert documented == code


def test_a_word_of_no_vocabulary_is_none_and_a_long_one_is_not_worked_on() -> None:
    assert vocabulary.stored(vocabulary.SUBSCRIPTION_STATUS, "shipped") is None
    assert vocabulary.stored(vocabulary.ORDER_STATUS, "cancelled" * 20) is None


def test_the_csv_status_takes_every_spelling_and_keeps_the_rest_for_the_schema_to_name() -> None:
    cells = pd.Series([" Canceled", "DISPATCHED", None, "", "In-Transit", "Weird Thing", "delivered"], dtype="str")
    words = parsing.vocabulary_words(cells, vocabulary.ORDER_STATUS)
    assert words.tolist()[:2] == ["cancelled", "shipped"]
    assert words.isna().tolist()[2:4] == [True, True]
    assert words.tolist()[4:] == ["shipped", "weird thing", "delivered"]


def test_an_events_field_takes_every_spelling_and_names_the_words_it_may_be() -> None:
    from pydantic import ValidationError

    from events.models import Subscription

    sub = {"subscription_id": "S1", "customer_id": "C1", "plan": "basic"}
    assert Subscription.model_validate({**sub, "status": "canceled"}).status == "cancelled"
    assert Subscription.model_validate({**sub, "status": "Past Due"}).status == "past_due"
    with pytest.raises(ValidationError, match="must be a subscription status: one of active, trial"):
        Subscription.model_validate({**sub, "status": "shipped"})

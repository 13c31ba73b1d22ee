"""Reading a contacts CSV: a file saved with another separator says so."""

from __future__ import annotations

import pytest

from dialtone.campaigns.csvio import parse_contacts_csv


@pytest.mark.parametrize(("separator", "named"), [(";", "';'"), ("\t", "tabs")])
def test_another_separator_is_named(separator: str, named: str) -> None:
    data = separator.join(["name", "phone", "appointment"]) + "\nAnn;+15550200001;Tue\n"
    _, errors = parse_contacts_csv(data.encode())
    messages = [e.reason for e in errors]
    assert any(f"separated by {named}, not commas" in m for m in messages), messages


def test_a_header_without_phone_still_says_so() -> None:
    _, errors = parse_contacts_csv(b"name,number\nAnn,+15550200001\n")
    assert [e.reason for e in errors] == ["the header has no phone column"]

"""identity_key: one key per name as people read it, so a look-alike never passes for someone else."""

from __future__ import annotations

import pytest

from server.text.identity import identity_key


@pytest.mark.parametrize(
    "spelling",
    [
        "alice",
        "ALICE",
        "Alice",
        "\u0430lice",  # Cyrillic а
        "al\u200bice",  # zero-width space
        "ali\u00adce",  # soft hyphen
        "a\u217cice",  # small roman numeral fifty, looks like l
        "\uff41\uff4c\uff49\uff43\uff45",  # fullwidth
        " alice ",
    ],
)
def test_every_spelling_of_alice_gets_alices_key(spelling: str) -> None:
    assert identity_key(spelling) == identity_key("alice")


def test_capital_look_alikes_meet_their_small_letter() -> None:
    assert identity_key("\u0415rik") == identity_key("erik")  # Cyrillic capital Е
    assert identity_key("B\u041eB") == identity_key("bob")  # Cyrillic capital О


def test_different_names_keep_different_keys() -> None:
    assert identity_key("alice") != identity_key("alicia")
    assert identity_key("bob") != identity_key("rob")
    assert identity_key("Åsa") != identity_key("Asa")

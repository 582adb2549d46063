"""server/text: text as a person reads it, and what it carried beyond what it shows."""

from __future__ import annotations

import unicodedata

import pytest

from server.text import hidden_codepoints, is_ascii_tree, readable, readable_tree, text_facts, tree_facts

# The four disguises of the attack run, each inside "compensation".
DISGUISED = {
    "zero-width space": "compen\u200bsation",
    "soft hyphen": "compen\u00adsation",
    "Cyrillic o": "c\u043empensation",
    "tag character": "compen\U000e0073sation",
}


@pytest.mark.parametrize("text", DISGUISED.values(), ids=DISGUISED.keys())
def test_every_disguise_reads_as_the_plain_word(text: str) -> None:
    assert text != "compensation"
    assert readable(text) == "compensation"


@pytest.mark.parametrize("text", DISGUISED.values(), ids=DISGUISED.keys())
def test_every_disguise_is_a_fact(text: str) -> None:
    assert text_facts(text).any


def test_invisible_characters_are_hidden_and_look_alikes_are_mixed_script() -> None:
    assert text_facts(DISGUISED["zero-width space"]).hidden
    assert not text_facts(DISGUISED["zero-width space"]).mixed_script
    assert text_facts(DISGUISED["Cyrillic o"]).mixed_script
    assert not text_facts(DISGUISED["Cyrillic o"]).hidden


def test_fullwidth_and_styled_letters_read_as_plain_ones() -> None:
    assert readable("\uff43\uff4f\uff4d\uff50") == "comp"
    assert readable("\U0001d41c\U0001d428\U0001d426\U0001d429") == "comp"  # mathematical bold


def test_plain_text_in_any_one_script_is_neither_hidden_nor_mixed() -> None:
    for text in ("We offer compensation.", "Återbetalning av 400 kr", "Привет, мир", "東京 tokyo", "5кг"):
        assert not text_facts(text).any, text


def test_ascii_is_kept_exactly_as_written() -> None:
    text = "Modern rn m I l 1 O 0"  # the skeleton would turn "m" into "rn"; readable keeps ASCII
    assert readable(text) is text


def test_accented_letters_are_not_flattened() -> None:
    assert readable("Café Åre") == "Café Åre"


def test_every_invisible_kind_named_by_unicode_counts_as_hidden() -> None:
    # Found through Python's own character database, independently of ICU: variation selectors,
    # zero-width characters, tag characters and the explicit bidi formatting characters.
    explicit_bidi = {"LRE", "RLE", "PDF", "LRO", "RLO", "LRI", "RLI", "FSI", "PDI"}
    invisible = [
        chr(cp)
        for cp in range(0x110000)
        if unicodedata.bidirectional(chr(cp)) in explicit_bidi
        or any(word in unicodedata.name(chr(cp), "") for word in ("VARIATION SELECTOR", "ZERO WIDTH"))
        or unicodedata.name(chr(cp), "").startswith("TAG ")
    ]
    assert len(invisible) > 350
    assert [f"U+{ord(c):04X}" for c in invisible if not hidden_codepoints(c)] == []


@pytest.mark.parametrize("cp", [0x034F, 0x180B, 0xE0100, 0x115F, 0x3164, 0xFE0F, 0x2065, 0x1D173, 0xFFA0])
def test_the_characters_the_old_hand_list_missed_are_hidden(cp: int) -> None:
    assert hidden_codepoints(f"a{chr(cp)}b") == [f"U+{cp:04X}"]
    assert readable(f"a{chr(cp)}b") == "ab"


def test_a_tree_is_normalised_keys_included_and_returned_as_is_when_ascii() -> None:
    args = {"subject": "Sorry", "lines": ["c\u043empensation", 3], "bo\u200bdy": {"x": "ok"}}
    assert readable_tree(args) == {"subject": "Sorry", "lines": ["compensation", 3], "body": {"x": "ok"}}
    plain = {"subject": "Sorry", "lines": ["a", 1.5, None], "nested": {"k": True}}
    assert readable_tree(plain) is plain


def test_tree_facts_look_into_keys_and_nested_values() -> None:
    assert tree_facts({"a": [{"b\u200b": 1}]}).hidden
    assert tree_facts({"a": ["p\u0430ypal"]}).mixed_script
    assert not tree_facts({"a": ["paypal", 1]}).any


def test_the_ascii_fast_path_sees_non_ascii_anywhere_and_walks_what_json_cannot_encode() -> None:
    assert is_ascii_tree({"a": ["b", 1, None, {"c": 2.5}]})
    assert not is_ascii_tree({"a": ["b", {"c\u200b": 1}]})
    assert not is_ascii_tree({"a": "\u200b"})
    assert not is_ascii_tree({"a": {1, 2}})  # not JSON-like: the caller walks it
    assert tree_facts({"a": ("x\u200b",)}).hidden

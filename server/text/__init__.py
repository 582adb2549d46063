"""Text as a person reads it (pure, no I/O): hidden characters, look-alikes and the normalised view.

- :func:`readable` / :func:`readable_tree`: the view the policy matches on (NFKC, default-ignorables
  removed, look-alikes made ASCII);
- :func:`text_facts` / :func:`tree_facts`: whether hidden or mixed-script characters were there;
- :func:`hidden_codepoints` / :func:`hidden_paths` / :data:`HIDDEN`: the characters a page must mark;
- :func:`lookalike_hosts`: e-mail and URL hosts that can pass for another;
- :func:`server.text.identity.identity_key`: one key per person's name.
"""

from server.text.hidden import codepoint, hidden_codepoints, hidden_paths
from server.text.lookalike import LookalikeHost, lookalike_hosts
from server.text.readable import TextFacts, is_ascii_tree, readable, readable_tree, strings_in, text_facts, tree_facts
from server.text.unicode import HIDDEN, skeleton

__all__ = [
    "HIDDEN",
    "LookalikeHost",
    "TextFacts",
    "codepoint",
    "hidden_codepoints",
    "hidden_paths",
    "is_ascii_tree",
    "lookalike_hosts",
    "readable",
    "readable_tree",
    "skeleton",
    "strings_in",
    "text_facts",
    "tree_facts",
]

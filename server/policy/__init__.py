"""The action policy: YAML files with CEL conditions, loaded once, consulted on every call.

Pure: nothing here touches the database or the network; the holder only reads the policy files.

- :func:`load_policy` reads, validates and compiles a directory into an immutable :class:`Policy`,
  or raises :class:`PolicyError` listing every :class:`Problem`.
- :class:`PolicyHolder` keeps the last good policy of a directory, reloading on change.
- :func:`classify` turns a call's facts into a verdict; its module docstring gives the evaluation order.
- :func:`base_priority` and :func:`queue_priority` rank held calls (formula in ``priority.py``).

The file format is documented in ``policies/README.md``.
"""

from server.policy.classify import classify
from server.policy.compiled import CompiledRule, Policy
from server.policy.holder import PolicyHolder
from server.policy.loader import load_policy
from server.policy.priority import base_priority, queue_priority
from server.policy.problems import PolicyError, Problem

__all__ = [
    "CompiledRule",
    "Policy",
    "PolicyError",
    "PolicyHolder",
    "Problem",
    "base_priority",
    "classify",
    "load_policy",
    "queue_priority",
]

"""Your own Python tools, without forking: registries found through an entry point or a setting.

A package declares, in its pyproject.toml::

    [project.entry-points."countersign.tools"]
    crm = "acme_tools:registry"

or an operator names registries in ``COUNTERSIGN_TOOLS=acme_tools:registry,other.module:registry``.
Each names a ``tools.contract.ToolRegistry`` (or a function returning one); its tools join the
built-in ones under the same policy (see README, "Your own Python tools").
"""

from __future__ import annotations

import inspect
from importlib import import_module
from importlib.metadata import entry_points

from tools.contract import ToolRegistry

ENTRY_POINT_GROUP = "countersign.tools"


class PluginError(Exception):
    """A named registry cannot be loaded; the message says which and why."""


def plugin_registries(setting: str) -> list[ToolRegistry]:
    """Every registry from the ``countersign.tools`` entry points, then those ``setting`` names.

    Raises:
        PluginError: a name that does not import, or that is not a ToolRegistry.
    """
    found: list[ToolRegistry] = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found.append(_registry(point.load(), point.value))
        except (ImportError, AttributeError) as exc:
            raise PluginError(f"entry point {point.name} = {point.value!r}: {exc}") from exc
    for name in (part.strip() for part in setting.split(",")):
        if not name:
            continue
        module, _, attribute = name.partition(":")
        if not module or not attribute:
            raise PluginError(f"{name!r}: name a registry as module:attribute, e.g. acme_tools:registry")
        try:
            found.append(_registry(getattr(import_module(module), attribute), name))
        except (ImportError, AttributeError) as exc:
            raise PluginError(f"{name!r}: {exc}") from exc
    return found


def _registry(value: object, name: str) -> ToolRegistry:
    if inspect.isfunction(value):  # a factory returning the registry
        value = value()
    if not isinstance(value, ToolRegistry):
        raise PluginError(f"{name!r} is a {type(value).__name__}, not a tools.contract.ToolRegistry")
    return value

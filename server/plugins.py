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
import traceback
from collections.abc import Callable
from functools import partial
from importlib import import_module
from importlib.metadata import entry_points

from tools.contract import ToolRegistry

ENTRY_POINT_GROUP = "countersign.tools"


class PluginError(Exception):
    """A named registry cannot be loaded; the message says which and why."""


def tool_registry(setting: str) -> ToolRegistry:
    """The built-in tools and your own (``setting`` is ``COUNTERSIGN_TOOLS``; entry points too).

    What ``serve`` runs and what the CLI's ``policy`` and ``tool`` commands check against.

    Raises:
        PluginError: a registry of your own that does not load, or whose tool names are taken.
    """
    from tools import default_registry  # imported late: the demo tools are only one possible catalogue

    registry: ToolRegistry = default_registry()
    add_plugins(registry, setting)  # your own tools, registered without forking
    return registry


def add_plugins(registry: ToolRegistry, setting: str) -> None:
    """Add every plugin registry's tools to ``registry``.

    Raises:
        PluginError: a name that does not import (or whose module raises as it loads), that is not a
            ToolRegistry, or a plugin tool whose name is already taken.
    """
    for name, extra in _named_registries(setting):
        try:
            registry.extend(extra)
        except ValueError as exc:  # a name taken by a built-in tool or another plugin
            raise PluginError(f"{name}: {exc}") from exc


def _named_registries(setting: str) -> list[tuple[str, ToolRegistry]]:
    found: list[tuple[str, ToolRegistry]] = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        label = f"entry point {point.name} = {point.value!r}"
        found.append((label, _loaded(label, point.load)))
    for name in (part.strip() for part in setting.split(",")):
        if not name:
            continue
        module, _, attribute = name.partition(":")
        if not module or not attribute:
            raise PluginError(f"{name!r}: name a registry as module:attribute, e.g. acme_tools:registry")
        found.append((repr(name), _loaded(repr(name), partial(_attribute, module, attribute))))
    return found


def _loaded(label: str, load: Callable[[], object]) -> ToolRegistry:
    try:
        return _registry(load(), label)
    except PluginError:
        raise
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"{label}: {exc}") from exc
    except Exception as exc:  # a team's module may raise anything as it imports or builds its registry
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)  # a SyntaxError's str repeats the place
        raise PluginError(f"{label} raised {type(exc).__name__}{_where(exc)}: {message}") from exc


def _attribute(module: str, attribute: str) -> object:
    return getattr(import_module(module), attribute)


def _where(exc: Exception) -> str:
    """`` at file:line`` of the plugin's code that raised (a syntax error's own position for one)."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f" at {exc.filename}:{exc.lineno}"
    frames = traceback.extract_tb(exc.__traceback__)
    return f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""


def _registry(value: object, label: str) -> ToolRegistry:
    if inspect.isfunction(value):  # a factory returning the registry
        value = value()
    if not isinstance(value, ToolRegistry):
        raise PluginError(f"{label} is a {type(value).__name__}, not a tools.contract.ToolRegistry")
    return value

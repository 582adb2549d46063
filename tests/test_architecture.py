"""Imports point inward: web -> server -> policy/store; tools imports neither; policy stays pure."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

WEB_LAYER = ("web", "fastapi", "jinja2", "starlette")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def _hits(path: Path, banned: tuple[str, ...]) -> list[str]:
    return sorted(name for name in _imports(path) if name.split(".")[0] in banned)


@pytest.mark.parametrize("path", _modules("server"), ids=lambda p: str(p.relative_to(REPO)))
def test_server_never_imports_the_web_layer(path: Path) -> None:
    relative = path.relative_to(REPO).as_posix()
    if relative.startswith("server/cli/"):
        return  # the composition root serves the web app
    assert _hits(path, WEB_LAYER) == []


@pytest.mark.parametrize("path", _modules("tools"), ids=lambda p: str(p.relative_to(REPO)))
def test_tools_import_neither_server_nor_web_nor_mcp(path: Path) -> None:
    assert _hits(path, ("server", "web", "fastapi", "mcp", "starlette", "jinja2")) == []


@pytest.mark.parametrize("path", _modules("server/policy"), ids=lambda p: str(p.relative_to(REPO)))
def test_policy_is_pure(path: Path) -> None:
    """The policy reads files and evaluates expressions; it never touches the store, the network or tools."""
    assert _hits(path, ("sqlalchemy", "sqlmodel", "httpx", "httpx2", "mcp", "tools", "web")) == []
    assert [n for n in _imports(path) if n.startswith(("server.store", "server.lifecycle", "server.gateway"))] == []


@pytest.mark.parametrize("path", _modules("web"), ids=lambda p: str(p.relative_to(REPO)))
def test_web_reaches_tools_only_through_the_server(path: Path) -> None:
    assert _hits(path, ("tools",)) == []


@pytest.mark.parametrize("path", [REPO / "web/api.py", REPO / "web/pages/decide.py"], ids=lambda p: p.name)
def test_the_surfaces_that_decide_go_through_the_review_service(path: Path) -> None:
    """The page and the JSON API hold no decision rule of their own: they call server/review/."""
    imports = _imports(path)
    assert "server.review" in imports
    assert not {n for n in imports if n.startswith("server.lifecycle.decisions")} - {"server.lifecycle.decisions"}
    source = path.read_text(encoding="utf-8")
    assert "gateway.approve(" not in source and "override_grounds(" not in source

"""The Containerfile and compose.yaml say what the README promises (`make image-test` builds and runs the image)."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from tests.conftest import REPO

CONTAINERFILE = (REPO / "Containerfile").read_text()


def _instruction(name: str) -> list[str]:
    return re.findall(rf"^{name}\s+((?:[^\n]*\\\n)*[^\n]+)$", CONTAINERFILE, flags=re.MULTILINE)


def _compose() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    return services


def test_the_image_is_multi_stage_on_a_slim_python_base_chosen_by_a_build_argument() -> None:
    assert _instruction("ARG")[0].startswith("BASE=") and "python:3.11-slim" in _instruction("ARG")[0]
    assert _instruction("FROM") == ["${BASE} AS build", "${BASE}"]
    assert "COPY --from=build /opt/countersign /opt/countersign" in CONTAINERFILE


def test_the_image_runs_countersign_serve_as_a_user_without_privileges_and_checks_livez() -> None:
    (user,) = _instruction("USER")
    assert user.split(":")[0] not in ("0", "root")
    assert json.loads(_instruction("ENTRYPOINT")[0]) == ["countersign", "serve"]
    (healthcheck,) = _instruction("HEALTHCHECK")
    assert "/livez" in healthcheck


def test_compose_migrates_once_before_two_instances_share_one_postgresql() -> None:
    services = _compose()
    instances = [name for name, service in services.items() if service.get("entrypoint") is None and "build" in service]
    assert services["migrate"]["entrypoint"] == ["countersign", "migrate"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert len(instances) == 2
    for name in instances:
        service = services[name]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["environment"]["COUNTERSIGN_DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in service["environment"]["COUNTERSIGN_DATABASE_URL"]
    assert "healthcheck" in services["postgres"]

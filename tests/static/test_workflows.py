"""The GitHub workflows: valid against the workflow schema, and doing what they promise."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.static.support import REPO, tool

pytestmark = pytest.mark.static

WORKFLOWS = REPO / ".github" / "workflows"


def test_workflows_match_the_github_schema() -> None:
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert len(files) == 2
    done = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def steps(workflow: str, job: str) -> list[dict[str, str]]:
    spec = yaml.safe_load((WORKFLOWS / workflow).read_text())
    return spec["jobs"][job]["steps"]


def test_ci_runs_the_readme_test_command() -> None:
    assert {"name": "make test", "run": ".ci/run"} in steps("ci.yml", "test")


def test_docker_workflow_runs_e2e_against_compose_and_dumps_logs_on_failure() -> None:
    dev = steps("docker.yml", "dev-stack-e2e")
    runs = "\n".join(step.get("run", "") for step in dev)
    assert "docker compose up -d --wait" in runs
    assert "-e E2E_STACK=docker" in runs and "make bootstrap && .venv/bin/pytest tests/e2e" in runs
    dumps = [step for step in dev if "docker compose logs" in step.get("run", "")]
    assert dumps and dumps[0]["if"] == "failure()"
    prod = "\n".join(step.get("run", "") for step in steps("docker.yml", "prod-stack-smoke"))
    assert "docker compose -f compose.prod.yaml up -d --wait" in prod

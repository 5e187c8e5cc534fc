"""The GitHub workflows: valid against the workflow schema, and doing what they promise."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from devstack.flavours import BROKERS, MAIL_CATCHERS
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
    assert "-e MAIL_CATCHER" in runs and "env -u MAIL_CATCHER make bootstrap" in runs
    dumps = [step for step in dev if "docker compose logs" in step.get("run", "")]
    assert dumps and dumps[0]["if"] == "failure()"
    prod = "\n".join(step.get("run", "") for step in steps("docker.yml", "prod-stack-smoke"))
    assert "docker compose -f compose.prod.yaml up -d --wait" in prod


def test_docker_workflow_covers_every_broker_and_mail_catcher_pair() -> None:
    spec = yaml.safe_load((WORKFLOWS / "docker.yml").read_text())
    dev, prod = spec["jobs"]["dev-stack-e2e"], spec["jobs"]["prod-stack-smoke"]
    assert dev["strategy"]["matrix"] == {
        "broker": list(BROKERS),
        "mail-catcher": list(MAIL_CATCHERS),
    }
    assert dev["env"] == {
        "BROKER": "${{ matrix.broker }}",
        "MAIL_CATCHER": "${{ matrix.mail-catcher }}",
    }
    assert prod["strategy"]["matrix"] == {"broker": list(BROKERS)}
    assert prod["env"]["BROKER"] == "${{ matrix.broker }}"


def test_actions_are_on_their_current_majors() -> None:
    text = "\n".join(p.read_text() for p in WORKFLOWS.glob("*.yml"))
    used = set(re.findall(r"uses: (\S+)", text))
    assert used == {"actions/checkout@v6", "actions/setup-go@v6"}

"""The API against its OpenAPI document, by schemathesis, through nginx on the whole
stack: a bounded number of generated cases per operation, every check, the stateful
phase, and two users as peers, so that one user reading or deleting the other's books or
emails fails the run as surely as a 5xx, a schema violation or an undocumented status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.bookshelf_client import BookshelfUser
from tests.e2e.support import StackUrls, record_figure

REPO = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# Cases per operation and phase: enough to find what the checks look for, bounded so the
# whole run stays well under 90 s on two shared cores.
MAX_EXAMPLES = 12
SEED = 20261125


def peers(stack: StackUrls, workdir: Path) -> Path:
    """Two users, each with an API token, as a Web Fuzzing Commons auth file."""
    users = []
    for name in ("alice", "bob"):
        user = BookshelfUser(stack.base_url)
        user.register()
        token = user.api_token()
        users.append(
            {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {token}"}]}
        )
    path = workdir / "auth.json"
    path.write_text(json.dumps({"auth": users}))
    return path


def test_the_api_keeps_its_openapi_document(stack: StackUrls, tmp_path: Path) -> None:
    auth = peers(stack, tmp_path)
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f'[auth.wfc]\npath = "{auth}"\npeers = ["alice", "bob"]\n'
        "[generation]\n"
        f"max-examples = {MAX_EXAMPLES}\n"
    )
    report = tmp_path / "report.json"
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "run",
        f"{stack.base_url}/api/v1/openapi.yaml",
        "--url",
        f"{stack.base_url}/api/v1",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        str(SEED),
        "--workers",
        "2",
        "--request-timeout",
        "10",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    environment = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks"}
    done = subprocess.run(
        command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=300, check=False
    )
    if not report.exists():
        pytest.fail(f"schemathesis did not run:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    ran = json.loads(report.read_text())
    record_figure(
        "schemathesis",
        {
            "operations": ran["operations"]["tested"],
            "cases": ran["test_cases"]["generated"],
            "failures": ran["test_cases"]["unique_failures"],
            "seconds": round(ran["running_time"], 1),
        },
    )
    if done.returncode != 0:
        pytest.fail(f"schemathesis found problems:\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}")
    assert ran["operations"]["tested"] == ran["operations"]["total"] > 0
    assert {phase["status"] for phase in ran["phases"].values()} == {"success"}
    assert ran["failures"] == [] and ran["errors"] == []

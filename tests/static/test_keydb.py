"""keydb.conf and the healthcheck script, run for real on the local broker (BROKER's, else
redis-server: KeyDB is a Redis fork) and redis-cli, through devstack's BrokerServer: the
same file rendered as the local stack runs it (render-conf.sh for the flavour, as the
image's build runs it; then bind, port, dir, logfile and requirepass set)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.broker import LOCAL_DIRECTIVES, BrokerServer, flavour_config, render_config
from devstack.flavours import BROKERS
from devstack.process import StackError
from tests.static.support import REPO

pytestmark = pytest.mark.static

KEYDB = REPO / "services" / "keydb"
PASSWORD = "0123456789abcdef"


def redis_cli(port: int, *args: str) -> str:
    done = subprocess.run(
        ["redis-cli", "-p", str(port), "--no-auth-warning", "-a", PASSWORD, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: run `make bootstrap`")
    broker = BrokerServer(tmp_path_factory.mktemp("keydb"), password=PASSWORD)
    try:
        broker.start()
        yield broker.port
    finally:
        broker.stop()


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("appendonly", "yes"),
        ("appendfsync", "everysec"),
        ("maxmemory-policy", "noeviction"),
        ("protected-mode", "yes"),
        ("maxmemory", str(256 * 1024 * 1024)),
        ("bind", "127.0.0.1"),
    ],
)
def test_config_is_loaded(server: int, setting: str, value: str) -> None:
    assert redis_cli(server, "config", "get", setting).splitlines() == [setting, value]


@pytest.mark.parametrize(
    ("flavour", "threads"),
    [
        ("keydb", ["server-threads 2"]),
        ("valkey", ["io-threads 2"]),
        ("redis", []),
    ],
)
def test_devstack_runs_the_same_file_with_only_the_local_settings(
    flavour: str, threads: list[str]
) -> None:
    def settings(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]

    local = {name: f"local-{name}" for name in LOCAL_DIRECTIVES}
    image = settings((KEYDB / "keydb.conf").read_text())
    rendered = settings(render_config(local, flavour))

    def kept(lines: list[str]) -> list[str]:
        ignored = (*LOCAL_DIRECTIVES, "server-threads", "io-threads")
        return [line for line in lines if line.split()[0] not in ignored]

    assert kept(rendered) == kept(image)  # every other setting, in the file's order
    assert sorted(set(rendered) - set(kept(rendered))) == sorted(
        [f"{name} local-{name}" for name in LOCAL_DIRECTIVES] + threads
    )


def run_healthcheck(port: int, password: str | None, tmp_path: Path) -> int:
    # The script calls keydb-cli on 6379; a shim maps it to redis-cli on the test port.
    shim = tmp_path / "keydb-cli"
    shim.write_text(f'#!/bin/bash\nexec redis-cli "${{@/6379/{port}}}"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in {"KEYDB_PASSWORD", "REDISCLI_AUTH"}}
    env["BROKER"] = "keydb"
    env["PATH"] = f"{tmp_path}:{env['PATH']}"
    if password is not None:
        env["KEYDB_PASSWORD"] = password
    return subprocess.run(
        ["bash", str(KEYDB / "healthcheck.sh")], env=env, capture_output=True, check=False
    ).returncode


def test_healthcheck_passes_with_the_password(server: int, tmp_path: Path) -> None:
    assert run_healthcheck(server, PASSWORD, tmp_path) == 0


@pytest.mark.parametrize("password", [None, "wrong"])
def test_healthcheck_fails_without_the_right_password(
    server: int, tmp_path: Path, password: str | None
) -> None:
    assert run_healthcheck(server, password, tmp_path) != 0


def test_entrypoint_adds_requirepass_only_when_set(tmp_path: Path) -> None:
    shim = tmp_path / "keydb-server"
    shim.write_text('#!/bin/bash\nprintf "%s\\n" "$@"\n')
    shim.chmod(0o755)
    base = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    base.pop("KEYDB_PASSWORD", None)
    base["BROKER"] = "keydb"

    def args(env: dict[str, str]) -> list[str]:
        done = subprocess.run(
            ["bash", str(KEYDB / "entrypoint.sh")],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.splitlines()

    assert args(base) == ["/etc/bookshelf/broker.conf"]
    assert args({**base, "KEYDB_PASSWORD": PASSWORD}) == [
        "/etc/bookshelf/broker.conf",
        "--requirepass",
        PASSWORD,
    ]


def test_an_unknown_flavour_is_refused() -> None:
    with pytest.raises(StackError, match="unknown broker 'memcached'"):
        flavour_config("memcached", "server-threads 2\n")


def test_the_image_has_one_stage_per_flavour_and_renders_the_same_way() -> None:
    """The Dockerfile's stages are devstack's flavours, and its build runs the same
    render-conf.sh on keydb.conf for the chosen one."""
    text = (KEYDB / "Dockerfile").read_text()
    stages = [line.split()[-1] for line in text.splitlines() if line.startswith("FROM ")]
    assert stages[:-1] == list(BROKERS)
    assert text.splitlines()[0].startswith("#") and "ARG BROKER=keydb" in text
    assert stages[-1] == "${BROKER}"
    assert 'render-conf.sh "$BROKER" </tmp/bookshelf/keydb.conf' in text
    assert "USER ${BROKER}" in text

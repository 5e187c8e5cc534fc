"""The served app: real gunicorn processes with gunicorn.conf.py, on free ports."""

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack.ports import free_port
from devstack.process import ManagedProcess

REPO = Path(__file__).resolve().parents[3]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def gunicorn(
    tmp_path: Path, name: str, database_url: str, home: Path
) -> tuple[ManagedProcess, str]:
    port = free_port()
    env = {
        **os.environ,
        "HOME": str(home),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_TIMEOUT": "20",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "gunicorn-test",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0",
    }
    env.pop("XDG_RUNTIME_DIR", None)
    process = ManagedProcess(
        name,
        [GUNICORN, "-c", "services/web/gunicorn.conf.py", "bookshelf:create_app()"],
        tmp_path / f"{name}.log",
        env=env,
        cwd=REPO,
    )
    return process, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[list[str]]:
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    home = tmp_path / "home"
    home.mkdir()
    servers = [gunicorn(tmp_path, f"web{n}", database_url, home) for n in (1, 2)]
    try:
        for process, _url in servers:
            process.start()
        for process, url in servers:
            process.wait_ready(lambda url=url: requests.get(f"{url}/healthz", timeout=1).ok, 30)
        yield [url for _process, url in servers]
    finally:
        for process, _url in servers:
            process.stop()
    assert not (home / ".gunicorn").exists(), "gunicorn made a control socket under HOME"


def test_two_gunicorn_instances_serve_health_and_pages(two_servers: list[str]) -> None:
    for url in two_servers:
        health = requests.get(f"{url}/healthz", timeout=5)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        page = requests.get(f"{url}/auth/login", timeout=5)
        assert page.status_code == 200 and "Iniciar sesión" in page.text
        css = requests.get(f"{url}/static/style.css", timeout=5)
        assert css.status_code == 200 and "--accent" in css.text

"""The served app: real gunicorn processes with gunicorn.conf.py, on free ports."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.ports import free_port
from devstack.process import ManagedProcess, wait_until

REPO = Path(__file__).resolve().parents[3]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def gunicorn(
    tmp_path: Path, name: str, database_url: str, home: Path, **extra_env: str
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
        **extra_env,
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


def test_access_log_carries_the_request_id(tmp_path: Path, database_url: str) -> None:
    """Each access line names the request's X-Request-ID: nginx's (kept by the app) or,
    without nginx, the one the app minted and echoed on the response."""
    home = tmp_path / "home"
    home.mkdir()
    process, url = gunicorn(tmp_path, "access", database_url, home)
    process.start()
    try:
        process.wait_ready(lambda: requests.get(f"{url}/healthz", timeout=1).ok, 30)
        requests.get(f"{url}/healthz", headers={"X-Request-ID": "from-nginx-0001"}, timeout=5)
        minted = requests.get(f"{url}/healthz", timeout=5).headers["X-Request-ID"]

        def logged(request_id: str) -> bool:
            return f"request_id={request_id}" in process.log_path.read_text()

        assert wait_until(lambda: logged("from-nginx-0001") and logged(minted), 5), (
            process.log_path.read_text()[-2000:]
        )
    finally:
        process.stop()


def test_json_logs_carry_the_request_id_on_app_and_access_lines(
    tmp_path: Path, database_url: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    process, url = gunicorn(tmp_path, "json", database_url, home, LOG_FORMAT="json")
    process.start()
    try:
        process.wait_ready(lambda: requests.get(f"{url}/healthz", timeout=1).ok, 30)
        requests.get(f"{url}/no-such-page", headers={"X-Request-ID": "json-line-0001"}, timeout=5)

        def lines() -> list[dict[str, Any]]:
            text = process.log_path.read_text().splitlines()
            return [json.loads(line) for line in text if line.startswith("{")]

        def access() -> dict[str, Any] | None:
            return next((x for x in lines() if x.get("path") == "/no-such-page"), None)

        assert wait_until(lambda: access() is not None, 5), process.log_path.read_text()[-2000:]
        line = access()
        assert line is not None
        assert (line["logger"], line["request_id"], line["status"]) == (
            "gunicorn.access",
            "json-line-0001",
            "404",
        )
        text = [x for x in process.log_path.read_text().splitlines() if x and not x.startswith("{")]
        assert text == [], f"not JSON: {text[:3]}"
        assert any(x["logger"] == "gunicorn.error" for x in lines())  # "Booting worker..."
    finally:
        process.stop()


def test_the_master_serves_the_sum_of_its_workers_request_metrics(
    tmp_path: Path, database_url: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    metrics_port = free_port()
    process, url = gunicorn(
        tmp_path,
        "metrics",
        database_url,
        home,
        GUNICORN_WORKERS="2",
        METRICS_BIND=f"127.0.0.1:{metrics_port}",
    )
    process.start()
    try:
        process.wait_ready(lambda: requests.get(f"{url}/healthz", timeout=1).ok, 30)
        for _ in range(40):  # whichever of the two workers answers, the master counts it
            assert requests.get(f"{url}/auth/login", timeout=5).ok
        exposed = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        wanted = (
            'bookshelf_http_requests_total{endpoint="/auth/login",method="GET",status="200"} 40.0'
        )
        assert wanted in exposed, exposed[-2000:]
        assert requests.get(f"{url}/metrics", timeout=5).status_code == 404
    finally:
        process.stop()


def test_settings_come_from_a_dotenv_file_without_overriding_the_environment(
    tmp_path: Path,
) -> None:
    """For non-Docker runs .env.example offers GUNICORN_*; the real environment wins."""
    (tmp_path / ".env").write_text("GUNICORN_WORKERS=3\nGUNICORN_TIMEOUT=7\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")}
    env["GUNICORN_TIMEOUT"] = "9"
    script = (
        "import runpy, sys; s = runpy.run_path(sys.argv[1]);"
        "print(s['workers'], s['timeout'], s['graceful_timeout'])"
    )
    conf = str(REPO / "services/web/gunicorn.conf.py")
    done = subprocess.run(
        [sys.executable, "-c", script, conf],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["3", "9", "9"]

"""The one nginx template: rendered by devstack exactly as the image's envsubst renders it,
and accepted by the real nginx (`nginx -t`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from devstack.nginx import (
    TEMPLATE,
    TEMPLATE_VARIABLES,
    NginxServer,
    real_ip_directives,
    render_config,
)
from devstack.process import StackError
from tests.static.support import REPO

pytestmark = pytest.mark.static

TRUSTED = "10.0.0.0/8, 192.168.1.1 2001:db8::/32"
VALUES = {
    "NGINX_LISTEN": "8080",
    "WEB_UPSTREAM": "web:8000",
    "STATIC_ROOT": "/srv/bookshelf/static/",
    "NGINX_RUNTIME_DIR": "/tmp/nginx",
    "HSTS_MAX_AGE": "31536000",
    "NGINX_REAL_IP_FROM": real_ip_directives(TRUSTED),
}


def test_template_uses_exactly_the_six_tokens() -> None:
    tokens = set(re.findall(r"\$\{(\w+)\}", TEMPLATE.read_text()))
    assert tokens == set(TEMPLATE_VARIABLES)


def test_there_is_no_second_nginx_config() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    configs = [name for name in listed if re.search(r"nginx[^/]*\.conf", name)]
    assert configs == ["services/nginx/nginx.conf.template"]


def test_render_replaces_every_token() -> None:
    text = render_config(VALUES)
    assert "${" not in text
    assert "listen 8080;" in text
    assert "alias /srv/bookshelf/static/;" in text
    assert 'max-age=31536000; includeSubDomains" always;' in text
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        assert f"{temp}_temp_path /tmp/nginx/{temp};" in text
    assert "pid /tmp/nginx/nginx.pid;" in text
    for proxy in ("10.0.0.0/8", "192.168.1.1", "2001:db8::/32"):
        assert f"    set_real_ip_from {proxy};\n" in text


def test_nobody_is_a_trusted_proxy_by_default() -> None:
    text = render_config({**VALUES, "NGINX_REAL_IP_FROM": real_ip_directives("")})
    assert not re.search(r"^\s*set_real_ip_from", text, re.MULTILINE)
    assert "real_ip_header X-Forwarded-For;" in text


@pytest.mark.parametrize("bad", ["10.0.0.0/8;allow all", "example.com", "10.0.0.0/99"])
def test_a_trusted_proxy_must_be_an_address_or_range(bad: str) -> None:
    with pytest.raises(StackError, match="NGINX_TRUSTED_PROXIES"):
        real_ip_directives(bad)


def test_render_refuses_a_leftover_token() -> None:
    with pytest.raises(StackError, match="UNKNOWN"):
        render_config(VALUES, template="listen ${NGINX_LISTEN}; root ${UNKNOWN};")


def test_render_refuses_missing_values_and_a_static_root_without_slash() -> None:
    with pytest.raises(StackError, match="exactly"):
        render_config({k: v for k, v in VALUES.items() if k != "HSTS_MAX_AGE"})
    with pytest.raises(StackError, match="end with"):
        render_config({**VALUES, "STATIC_ROOT": "/srv/static"})


@pytest.fixture
def runtime_dir(tmp_path: Path) -> Path:
    return tmp_path / "runtime"


def run_entrypoint(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The nginx image's entrypoint, told to run `true` instead of nginx."""
    return subprocess.run(
        ["bash", str(REPO / "services" / "nginx" / "entrypoint.sh"), "true"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def test_image_entrypoint_renders_the_same_file_as_devstack(runtime_dir: Path) -> None:
    if shutil.which("envsubst") is None:
        pytest.fail("envsubst is missing (apt gettext-base)")
    values = {**VALUES, "NGINX_RUNTIME_DIR": str(runtime_dir)}
    env = {
        **os.environ,
        **values,
        "NGINX_TEMPLATE": str(TEMPLATE),
        "NGINX_TRUSTED_PROXIES": TRUSTED,
    }
    del env["NGINX_REAL_IP_FROM"]  # the entrypoint makes it from NGINX_TRUSTED_PROXIES
    done = run_entrypoint(env)
    assert done.returncode == 0, done.stderr
    assert (runtime_dir / "nginx.conf").read_text() == render_config(values)
    assert os.readlink(runtime_dir / "error.log") == "/dev/stderr"
    assert os.readlink(runtime_dir / "access.log") == "/dev/stdout"


def test_image_entrypoint_refuses_a_trusted_proxy_that_is_not_an_address(
    runtime_dir: Path,
) -> None:
    env = {**os.environ, **VALUES, "NGINX_RUNTIME_DIR": str(runtime_dir)}
    env["NGINX_TRUSTED_PROXIES"] = "10.0.0.0/8;allow"
    done = run_entrypoint(env)
    assert done.returncode != 0 and "NGINX_TRUSTED_PROXIES" in done.stderr


def test_image_entrypoint_refuses_a_missing_variable(runtime_dir: Path) -> None:
    env = {**os.environ, **VALUES, "NGINX_RUNTIME_DIR": str(runtime_dir)}
    del env["WEB_UPSTREAM"]
    done = run_entrypoint(env)
    assert done.returncode != 0 and "WEB_UPSTREAM" in done.stderr


@pytest.mark.parametrize("hsts", [0, 31536000])
def test_nginx_accepts_the_rendered_config(tmp_path: Path, hsts: int) -> None:
    server = NginxServer(tmp_path, upstream="127.0.0.1:9", hsts_max_age=hsts)
    output = server.check_config()
    assert "test is successful" in output
    assert f"max-age={hsts};" in server.config_path.read_text()


def test_nginx_rejects_a_broken_render(tmp_path: Path) -> None:
    # The check above can fail: an upstream nginx cannot parse is reported.
    server = NginxServer(tmp_path, upstream="not a host:port")
    with pytest.raises(StackError, match="nginx -t rejected"):
        server.check_config()

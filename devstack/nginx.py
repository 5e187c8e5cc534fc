"""nginx as a local process, running the image's own config template.

services/nginx/nginx.conf.template is the only nginx config. The image renders it with
envsubst; here the same six tokens are replaced in Python, and a token left over is an
error rather than a config nginx would half-understand.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import stat
import subprocess
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from devstack.ports import free_port
from devstack.process import ManagedProcess, ProcessServer, StackError

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "services" / "nginx" / "nginx.conf.template"
STATIC_ROOT = REPO / "services" / "web" / "src" / "bookshelf" / "static"
TEMPLATE_VARIABLES = (
    "NGINX_LISTEN",
    "WEB_UPSTREAM",
    "STATIC_ROOT",
    "NGINX_RUNTIME_DIR",
    "HSTS_MAX_AGE",
    "NGINX_REAL_IP_FROM",
)
_TOKEN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def nginx_binary() -> str:
    # /usr/sbin is not on every PATH (e.g. a non-login shell of a plain user).
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if not found:
        raise StackError("nginx is not installed: run `make bootstrap` (installs nginx-light).")
    return found


def real_ip_directives(trusted_proxies: str) -> str:
    """NGINX_TRUSTED_PROXIES (addresses or CIDR ranges, space or comma separated) as the
    template's NGINX_REAL_IP_FROM: one set_real_ip_from line each (services/nginx/entrypoint.sh
    does the same in shell)."""
    lines = []
    for proxy in trusted_proxies.replace(",", " ").split():
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise StackError(
                f"NGINX_TRUSTED_PROXIES: not an address or CIDR range: {proxy}"
            ) from None
        lines.append(f"    set_real_ip_from {proxy};\n")
    return "".join(lines)


def render_config(values: Mapping[str, str], template: str | None = None) -> str:
    """The template with exactly the six tokens replaced; anything else braced is an error."""
    if set(values) != set(TEMPLATE_VARIABLES):
        raise StackError(f"nginx template needs exactly {TEMPLATE_VARIABLES}, got {sorted(values)}")
    if not values["STATIC_ROOT"].endswith("/"):
        raise StackError(f"STATIC_ROOT must end with '/': {values['STATIC_ROOT']!r}")
    text = TEMPLATE.read_text() if template is None else template
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    leftover = sorted(set(_TOKEN.findall(text)))
    if leftover:
        raise StackError(f"nginx template has tokens nobody substitutes: {leftover}")
    return text


def make_traversable(path: Path) -> None:
    """As root, nginx's workers run as `nobody`: they must be able to reach `path`.

    Adds only o+x (search, not listing) to ancestors that lack it, e.g. pytest's 0700 dirs.
    """
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def copy_readable(source: Path, target: Path) -> None:
    """`source` copied afresh to `target`, every folder 0755 and every file 0644 whatever
    the originals' modes (a 0700 checkout), so nginx's `nobody` workers can read them."""
    if not source.is_dir():
        raise StackError(f"static root {source} is not a folder")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    target.chmod(0o755)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


class NginxServer(ProcessServer):
    """nginx in the foreground on a free port, proxying to `upstream` (host:port)."""

    def __init__(
        self,
        workdir: Path,
        upstream: str,
        static_root: Path | str = STATIC_ROOT,
        hsts_max_age: int = 0,
        trusted_proxies: str = "",
    ) -> None:
        self.port = free_port()
        self.runtime_dir = Path(workdir).resolve() / "nginx"
        self.config_path = self.runtime_dir / "nginx.conf"
        # nginx serves a copy in its runtime dir, as the image serves its own copy in
        # /srv/bookshelf/static: the checkout may sit in a folder `nobody` cannot enter.
        self.static_source = Path(static_root).resolve()
        self.static_root = self.runtime_dir / "static"
        self.values = {
            "NGINX_LISTEN": f"127.0.0.1:{self.port}",
            "WEB_UPSTREAM": upstream,
            "STATIC_ROOT": f"{self.static_root}/",
            "NGINX_RUNTIME_DIR": str(self.runtime_dir),
            "HSTS_MAX_AGE": str(hsts_max_age),
            "NGINX_REAL_IP_FROM": real_ip_directives(trusted_proxies),
        }
        dir_args = ["-p", str(self.runtime_dir), "-c", str(self.config_path)]
        self.base_args = [nginx_binary(), *dir_args, "-e", str(self.runtime_dir / "error.log")]
        # nginx writes nothing to stdout; sharing error.log (both append) puts its
        # start-up errors into the StackError that ManagedProcess raises.
        self.process = ManagedProcess(
            "nginx", [*self.base_args, "-g", "daemon off;"], self.error_log
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def error_log(self) -> Path:
        return self.runtime_dir / "error.log"

    @property
    def access_log(self) -> Path:
        """JSON lines (log_format bookshelf_json), one per request, written after the reply."""
        return self.runtime_dir / "access.log"

    def write_config(self) -> Path:
        """Render the template, and copy the static files, into a 0755 runtime dir that
        nginx's workers can use."""
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        self.runtime_dir.chmod(0o755)
        if os.geteuid() == 0:
            make_traversable(self.runtime_dir)
        copy_readable(self.static_source, self.static_root)
        self.config_path.write_text(render_config(self.values))
        return self.config_path

    def check_config(self) -> str:
        """`nginx -t` on the rendered file; raises StackError with nginx's words if it fails."""
        self.write_config()
        done = subprocess.run([*self.base_args, "-t"], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StackError(f"nginx -t rejected {self.config_path}:\n{done.stderr}")
        return done.stderr

    def ready(self) -> bool:
        with urllib.request.urlopen(f"{self.base_url}/nginx-health", timeout=1) as reply:  # noqa: S310
            return reply.status == 200

    def prepare(self) -> None:
        self.write_config()

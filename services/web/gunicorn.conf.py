"""gunicorn settings for the web service, read from the environment.

Run (from the repository root, or /app in the image):
    gunicorn -c services/web/gunicorn.conf.py 'bookshelf:create_app()'

Outside Docker the GUNICORN_* variables may come from a .env file (see .env.example),
found from the working directory up, as the app's own settings are; a variable
already in the real environment always wins.
"""

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from dotenv import find_dotenv, load_dotenv
from gunicorn import glogging

load_dotenv(find_dotenv(usecwd=True))

# Prometheus metrics (docs/architecture.md, "Operations"): with METRICS_BIND set, every
# worker process writes its request metrics to files in PROMETHEUS_MULTIPROC_DIR
# (prometheus-client's multiprocess mode), and the master serves their sum there, on a
# port nginx does not proxy. Set before any worker imports prometheus_client.
_metrics_bind = os.environ.get("METRICS_BIND", "").strip()
_metrics_dir = None
if _metrics_bind and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # A fresh directory per server: files left by another run would be summed in.
    _metrics_dir = tempfile.mkdtemp(prefix="bookshelf-web-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir
elif _metrics_bind:
    # One given by the environment: emptied for the same reason (prometheus-client
    # docs, "Multiprocess Mode").
    for _stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        _stale.unlink()


def when_ready(server):
    if not _metrics_bind:
        return
    from prometheus_client import CollectorRegistry, multiprocess

    from bookshelf_tasks.metrics_http import metrics_bind, serve_metrics

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    bind = metrics_bind(os.environ)
    serve_metrics(bind, registry)
    server.log.info("Prometheus metrics on http://%s:%s/metrics", *bind)


def child_exit(server, worker):
    if _metrics_bind:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = timeout

# nginx in front refuses an oversized request line or header itself (large_client_header_buffers
# 4 8k in services/nginx/nginx.conf.template), with the API's JSON error under /api/; gunicorn's
# own refusals are HTML pages. So its limits ("Security" settings) sit above what nginx lets
# through: a request line of up to 8 KiB (gunicorn's maximum, 8190 bytes without CRLF), any
# number of header lines in nginx's 32 KiB, and one header of up to 32 KiB, as nginx makes
# X-Forwarded-For by joining the client's copies of it.
limit_request_line = 8190
limit_request_fields = 32768  # gunicorn's maximum
limit_request_field_size = 65536

# Logs go to stdout/stderr ("-"), where compose and the local launcher collect them.
accesslog = "-"
errorlog = "-"
# gunicorn's default access format, plus the request id ("Logging" settings). The
# response's X-Request-ID ("o"), not the request's ("i"): it is nginx's id when the app
# kept it, and the id the app minted when there was none or a malformed one, so it is
# always the id on the app's own log lines and on the worker's email outcome.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" request_id=%({x-request-id}o)s'
)
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# The signed token of an account email's link is a secret: the access log keeps the link's
# path with "***" instead (as nginx's log does; docs/architecture.md, "Account emails").
_LINK_TOKEN = re.compile(r"(/auth/(?:verify|reset|account/email)/)[\w-]+\.[\w.-]+")


class TokenMaskingLogger(glogging.Logger):
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f", "{raw_uri}e", "{referer}i"):
            if isinstance(atoms.get(key), str):
                atoms[key] = _LINK_TOKEN.sub(r"\1***", atoms[key])
        return atoms


logger_class = TokenMaskingLogger

# LOG_FORMAT=json (docs/architecture.md, "Operations"): gunicorn's own lines, access and
# error, as JSON objects too, the access line's atoms as fields (request_id among them).
if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    _json_stream = {"class": "logging.StreamHandler", "formatter": "json"}
    # Replaces gunicorn's CONFIG_DEFAULTS key by key. The root logger gets no handler:
    # the app installs its own there (bookshelf.request_id), already JSON.
    logconfig_dict = {
        "root": {"level": loglevel.upper(), "handlers": []},
        "formatters": {"json": {"()": "bookshelf_tasks.logs.GunicornJsonFormatter"}},
        "handlers": {
            "console": {**_json_stream, "stream": "ext://sys.stdout"},
            "error_console": {**_json_stream, "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "gunicorn.error": {
                "level": loglevel.upper(),
                "handlers": ["error_console"],
                "propagate": False,
            },
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }

# gunicorn >= 25.1.0 opens a control socket at $XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl
# by default ("Control" settings), so a second instance on the same machine collides
# with the first. We do not use gunicornc: disable it, unless a per-instance path is set.
control_socket_path = os.environ.get("GUNICORN_CONTROL_SOCKET")
if control_socket_path:
    control_socket = control_socket_path
else:
    control_socket_disable = True

"""Where a process serves its Prometheus metrics: `METRICS_BIND` (host:port), a port of
its own, never proxied by nginx (docs/architecture.md, "Operations"). Unset: none."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

from bookshelf_tasks.settings_env import ConfigError


def metrics_bind(environ: Mapping[str, str]) -> tuple[str, int] | None:
    """METRICS_BIND as (host, port); None when unset or empty."""
    raw = environ.get("METRICS_BIND", "").strip()
    if not raw:
        return None
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"METRICS_BIND must be host:port, e.g. 0.0.0.0:9100, got {raw!r}")
    return host.strip("[]"), int(port)  # [::]:9100 binds "::"


def serve_metrics(bind: tuple[str, int], registry: CollectorRegistry = REGISTRY) -> None:
    """prometheus-client's own HTTP server, in a daemon thread: GET /metrics."""
    host, port = bind
    start_http_server(port, addr=host, registry=registry)

"""The example Prometheus files (services/prometheus): promtool accepts the config and
the alerting rules, and the rules' unit tests pass (each alert fires on the series that
should trip it and stays quiet on one that should not). The metric names they use are
the ones the services export."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.static.support import REPO

pytestmark = pytest.mark.static

PROMETHEUS = REPO / "services" / "prometheus"
PROMTOOL = REPO / ".tools" / "bin" / "promtool"
SOURCES = [REPO / "services" / "web" / "src", REPO / "services" / "worker" / "src"]


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if not PROMTOOL.exists():
        pytest.fail(f"promtool is missing from {PROMTOOL.parent}: run `make bootstrap`")
    return subprocess.run(
        [str(PROMTOOL), *args],
        cwd=PROMETHEUS,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_promtool_accepts_the_alerting_rules() -> None:
    done = promtool("check", "rules", "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 4 rules found" in done.stdout


def test_promtool_accepts_the_scrape_config() -> None:
    done = promtool("check", "config", "prometheus.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_alerts_fire_when_they_should() -> None:
    done = promtool("test", "rules", "alerts.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def exported_names() -> set[str]:
    """Every metric name the services declare (Counter, Histogram, or a collector's
    GaugeMetricFamily), as Prometheus stores it."""
    names: set[str] = set()
    for root in SOURCES:
        for source in root.rglob("*.py"):
            for kind, name in re.findall(
                r'(Counter|Histogram|GaugeMetricFamily)\(\s*"(\w+)"', source.read_text()
            ):
                suffixes = {"Counter": ["_total"], "Histogram": ["_count", "_sum", "_bucket"]}
                names.update(name + s for s in suffixes.get(kind, [""]))
    return names


def test_the_rules_use_only_metrics_the_services_export() -> None:
    rules = (PROMETHEUS / "alerts.yml").read_text()
    used = set(re.findall(r"\b(bookshelf_\w+)", rules))
    assert used, "no bookshelf metric in the rules"
    assert used - exported_names() == set()


def test_the_scrape_config_reaches_every_service_that_serves_metrics() -> None:
    config = (PROMETHEUS / "prometheus.yml").read_text()
    for target in ("web:9100", "outbox-relay:9100", '"worker"', "flower:5555"):
        assert target in config, target

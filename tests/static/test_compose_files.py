"""compose.yaml and compose.prod.yaml: validated by docker-compose and the compose-spec schema,
then held to the project's rules (healthchecks, conditions, read-only prod, one published port).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from devstack.flavours import BROKERS, MAIL_CATCHERS
from tests.static.support import (
    COMPOSE_FILES,
    ONE_SHOT,
    REPO,
    compose_variables,
    dockerfile_of,
    env_example_names,
    load_compose,
    required_variables,
    tool,
)

pytestmark = pytest.mark.static


def docker_compose(
    which: str, env: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """`docker-compose config -q` with exactly `env`: an empty --env-file keeps a developer's
    own .env out of the result."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is missing: run `make bootstrap` (apt docker-compose)")
    empty = tmp_path / "empty.env"
    empty.write_text("")
    clean = {k: v for k, v in os.environ.items() if k not in compose_variables(which)}
    return subprocess.run(
        [binary, "--env-file", str(empty), "-f", str(COMPOSE_FILES[which]), "config", "-q"],
        capture_output=True,
        text=True,
        env={**clean, **env},
        cwd=REPO,
        check=False,
        timeout=60,
    )


def prod_secrets() -> dict[str, str]:
    return {name: f"test-{name.lower()}" for name in required_variables("prod")}


def test_dev_compose_is_valid_without_any_env_file(tmp_path: Path) -> None:
    done = docker_compose("dev", {}, tmp_path)
    assert done.returncode == 0, done.stderr


def test_prod_compose_is_valid_with_its_secrets_set(tmp_path: Path) -> None:
    done = docker_compose("prod", prod_secrets(), tmp_path)
    assert done.returncode == 0, done.stderr


def test_prod_requires_its_secrets() -> None:
    assert {"SECRET_KEY", "POSTGRES_PASSWORD", "KEYDB_PASSWORD", "MAIL_SERVER"} <= (
        required_variables("prod")
    )
    assert required_variables("dev") == set(), "dev must start without a .env"


@pytest.mark.parametrize("missing", sorted(required_variables("prod")))
def test_prod_refuses_to_start_without_each_secret(missing: str, tmp_path: Path) -> None:
    env = {k: v for k, v in prod_secrets().items() if k != missing}
    done = docker_compose("prod", env, tmp_path)
    assert done.returncode != 0
    assert missing in done.stderr


@pytest.mark.parametrize("which", sorted(COMPOSE_FILES))
def test_compose_spec_schema(which: str) -> None:
    done = subprocess.run(
        [
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE_FILES[which]),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def has_healthcheck(service: dict[str, Any]) -> bool:
    check = service.get("healthcheck")
    if check is not None:
        return not check.get("disable", False) and bool(check.get("test"))
    dockerfile = dockerfile_of(service)
    return dockerfile is not None and bool(
        re.search(r"^HEALTHCHECK\s+(?!NONE)", dockerfile.read_text(), re.MULTILINE)
    )


@pytest.mark.parametrize("which", sorted(COMPOSE_FILES))
def test_every_long_running_service_has_a_healthcheck(which: str) -> None:
    services = load_compose(which)["services"]
    missing = [
        name for name, svc in services.items() if name not in ONE_SHOT and not has_healthcheck(svc)
    ]
    assert missing == []


@pytest.mark.parametrize("which", sorted(COMPOSE_FILES))
def test_every_long_running_service_restarts_unless_stopped(which: str) -> None:
    """A crashed worker, relay or broker comes back by itself; the one-shot migrate, which
    exits 0 when done, must not run again."""
    services = load_compose(which)["services"]
    policies = {name: svc.get("restart") for name, svc in services.items()}
    wanted = {name: ("no" if name in ONE_SHOT else "unless-stopped") for name in services}
    assert policies == wanted


@pytest.mark.parametrize("which", sorted(COMPOSE_FILES))
def test_every_dependency_waits_on_a_condition(which: str) -> None:
    services = load_compose(which)["services"]
    for name, svc in services.items():
        depends = svc.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on must be a mapping with conditions"
        for target, rule in depends.items():
            wanted = "service_completed_successfully" if target in ONE_SHOT else "service_healthy"
            assert rule.get("condition") == wanted, f"{name} -> {target}"
            assert target in services
            if wanted == "service_healthy":
                assert has_healthcheck(services[target]), f"{target} has no healthcheck"


@pytest.mark.parametrize("which", sorted(COMPOSE_FILES))
def test_every_variable_is_documented_in_env_example(which: str) -> None:
    undocumented = compose_variables(which) - env_example_names()
    assert undocumented == set()


@pytest.mark.parametrize("which", sorted(COMPOSE_FILES))
def test_no_version_links_or_top_level_name(which: str) -> None:
    spec = load_compose(which)
    assert {"version", "name"}.isdisjoint(spec)
    assert all("links" not in svc for svc in spec["services"].values())


def published(which: str) -> dict[str, list[Any]]:
    services = load_compose(which)["services"]
    return {name: svc["ports"] for name, svc in services.items() if svc.get("ports")}


def test_dev_publishes_only_the_app_and_the_mail_catcher() -> None:
    ports = published("dev")
    assert ports.pop("nginx") == ["8080:8080"]
    assert ports.pop("mailcatcher") == ["8025:8025"]
    # Flower and Prometheus run only under the monitoring profile, on loopback.
    assert ports == {"flower": ["127.0.0.1:5555:5555"], "prometheus": ["127.0.0.1:9090:9090"]}
    for name in ("flower", "prometheus"):
        assert load_compose("dev")["services"][name]["profiles"] == ["monitoring"]


def test_prod_publishes_only_nginx() -> None:
    services = load_compose("prod")["services"]
    assert list(published("prod")) == ["nginx"]
    assert all("expose" not in svc for svc in services.values())
    assert "mailcatcher" not in services


def test_prod_metrics_and_flower_stay_on_the_internal_monitoring_network() -> None:
    spec = load_compose("prod")
    services = spec["services"]
    assert spec["networks"]["monitoring"] == {"internal": True}
    on_monitoring = {name for name, svc in services.items() if "monitoring" in svc["networks"]}
    assert on_monitoring == {"web", "outbox-relay", "worker", "flower"}
    for name in ("web", "outbox-relay", "worker"):
        assert services[name]["environment"]["METRICS_BIND"] == "0.0.0.0:9100", name
    assert "monitoring" not in services["nginx"]["networks"]  # nginx cannot reach them
    flower = services["flower"]
    assert flower["profiles"] == ["monitoring"] and "ports" not in flower
    assert "FLOWER_BASIC_AUTH" in flower["command"][-1]  # refuses to start without it


def test_prod_services_are_hardened() -> None:
    services = load_compose("prod")["services"]
    for name, svc in services.items():
        assert svc.get("read_only") is True, name
        assert "no-new-privileges:true" in svc.get("security_opt", []), name
        assert svc.get("cap_drop") == ["ALL"], name
        assert svc.get("restart") == ("no" if name in ONE_SHOT else "unless-stopped"), name
        assert svc["deploy"]["resources"]["limits"]["memory"], name
    with_caps = {name for name, svc in services.items() if svc.get("cap_add")}
    assert with_caps == {"postgres"}


def test_prod_keeps_the_data_stores_off_every_routable_network() -> None:
    spec = load_compose("prod")
    internal = {name for name, net in spec["networks"].items() if (net or {}).get("internal")}
    for store in ("postgres", "broker"):
        assert set(spec["services"][store]["networks"]) <= internal, store


def test_prod_broker_url_carries_the_keydb_password() -> None:
    spec = load_compose("prod")
    keydb_env = spec["services"]["broker"]["environment"]
    assert keydb_env["KEYDB_PASSWORD"].startswith("${KEYDB_PASSWORD:?")
    for name in ("web", "worker", "migrate"):
        url = spec["services"][name]["environment"]["CELERY_BROKER_URL"]
        assert url.startswith("redis://:${KEYDB_PASSWORD:?"), name


def test_worker_replicas_live_under_deploy() -> None:
    worker = load_compose("prod")["services"]["worker"]
    assert "replicas" in worker["deploy"]
    assert "container_name" not in worker and "scale" not in worker


@pytest.mark.parametrize("which", sorted(COMPOSE_FILES))
def test_web_waits_for_the_migration(which: str) -> None:
    services = load_compose(which)["services"]
    assert services["migrate"]["command"] == ["flask", "--app", "bookshelf", "db", "upgrade"]
    condition = services["web"]["depends_on"]["migrate"]["condition"]
    assert condition == "service_completed_successfully"


@pytest.mark.parametrize("which", sorted(COMPOSE_FILES))
def test_data_lives_in_named_volumes(which: str) -> None:
    spec = load_compose(which)
    assert {"postgres-data", "broker-data"} <= set(spec["volumes"])
    assert "postgres-data:/var/lib/postgresql/data" in spec["services"]["postgres"]["volumes"]
    assert "broker-data:/data" in spec["services"]["broker"]["volumes"]


@pytest.mark.parametrize("which", sorted(COMPOSE_FILES))
@pytest.mark.parametrize("broker", BROKERS)
def test_every_broker_flavour_is_a_valid_stack(which: str, broker: str, tmp_path: Path) -> None:
    env = {"BROKER": broker, **(prod_secrets() if which == "prod" else {})}
    done = docker_compose(which, env, tmp_path)
    assert done.returncode == 0, done.stderr
    build = load_compose(which)["services"]["broker"]["build"]
    assert build["dockerfile"] == "services/keydb/Dockerfile"
    assert build["args"] == {"BROKER": "${BROKER:-keydb}"}


@pytest.mark.parametrize("catcher", MAIL_CATCHERS)
def test_every_mail_catcher_is_a_valid_dev_stack(catcher: str, tmp_path: Path) -> None:
    done = docker_compose("dev", {"MAIL_CATCHER": catcher}, tmp_path)
    assert done.returncode == 0, done.stderr
    services = load_compose("dev")["services"]
    assert services["mailcatcher"]["build"]["args"] == {"MAIL_CATCHER": "${MAIL_CATCHER:-mailhog}"}
    assert services["worker"]["environment"]["MAIL_SERVER"] == "mailcatcher"
    stages = re.findall(
        r"^FROM \S+ AS (\w+)$", dockerfile_of(services["mailcatcher"]).read_text(), re.M
    )  # type: ignore[union-attr]
    assert stages == list(MAIL_CATCHERS)


def test_gunicorn_gives_up_no_later_than_nginx() -> None:
    template = (REPO / "services" / "nginx" / "nginx.conf.template").read_text()
    nginx_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", template).group(1))  # type: ignore[union-attr]
    defaults = [
        int(v)
        for which in COMPOSE_FILES
        for v in re.findall(r"\$\{GUNICORN_TIMEOUT:-(\d+)\}", COMPOSE_FILES[which].read_text())
    ]
    example = re.search(r"^GUNICORN_TIMEOUT=(\d+)$", (REPO / ".env.example").read_text(), re.M)
    assert defaults and example
    assert max([*defaults, int(example.group(1))]) <= nginx_timeout


def test_env_example_lists_every_setting_of_the_architecture() -> None:
    doc = (REPO / "docs" / "architecture.md").read_text()
    table = doc.split("## Environment", 1)[1].split("\n## ", 1)[0]
    # The first column of each row names the variables; the others hold values like `INFO`.
    first_cells = [row.split("|")[1] for row in table.splitlines() if row.startswith("| `")]
    documented = {name for cell in first_cells for name in re.findall(r"`([A-Z0-9_]+)`", cell)}
    assert {"SECRET_KEY", "DATABASE_URL", "MAIL_TIMEOUT"} <= documented
    assert documented - env_example_names() == set()

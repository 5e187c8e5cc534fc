"""openapi.yaml, as the API serves it, is a valid OpenAPI 3.1 document (the 3.1 meta-schema
plus openapi-spec-validator's checks: resolvable $refs, path parameters declared...)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from openapi_spec_validator import OpenAPIV31SpecValidator
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.yaml")
    assert response.status_code == 200
    return yaml.safe_load(response.get_data(as_text=True))


def test_openapi_yaml_is_a_valid_openapi_3_1_document(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1.")
    errors = [error.message for error in OpenAPIV31SpecValidator(spec).iter_errors()]
    assert errors == []


@pytest.mark.parametrize(
    "break_it",
    [
        lambda s: s["info"].pop("title"),
        lambda s: s["components"]["schemas"]["Notification"]["properties"]["status"].update(
            type="strin"
        ),
        lambda s: s["paths"].update({"/books/{book_id}/copy": {"get": {"responses": {}}}}),
    ],
    ids=["no-title", "unknown-type", "undeclared-path-parameter"],
)
def test_the_validator_would_catch_a_broken_spec(
    spec: dict[str, Any], break_it: Callable[[dict[str, Any]], object]
) -> None:
    broken = copy.deepcopy(spec)
    break_it(broken)
    with pytest.raises(OpenAPIValidationError):
        OpenAPIV31SpecValidator(broken).validate()

"""openapi.yaml, as the API serves it, is a valid OpenAPI 3.1 document (the 3.1 meta-schema
plus openapi-spec-validator's checks: resolvable $refs, path parameters declared...), and
its BookInput schema accepts what the book rules accept (library/book_input.py)."""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient
from openapi_spec_validator import OpenAPIV31SpecValidator
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from bookshelf.api import openapi_text
from bookshelf.library import isbn, listing
from bookshelf.library.book_input import YEAR_MIN, validate_book, year_max
from services.web.tests.support import served_openapi, spec_validator


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


# --- BookInput: the schema and the rules (library/book_input.py) agree -----------------

NEXT_YEAR = year_max()
DUNE = {"title": "Dune", "author": "Frank Herbert"}


def test_the_served_document_has_next_years_maximum(client: FlaskClient) -> None:
    served = yaml.safe_load(client.get("/api/v1/openapi.yaml").get_data(as_text=True))
    year = served["components"]["schemas"]["BookInput"]["properties"]["year"]
    assert (year["minimum"], year["maximum"]) == (YEAR_MIN, NEXT_YEAR)
    assert "maximum: 2031\n" in openapi_text(2031)


def test_the_isbn_pattern_is_the_rules() -> None:
    isbn_schema = served_openapi()["components"]["schemas"]["BookInput"]["properties"]["isbn"]
    assert isbn_schema["pattern"] == isbn.INPUT_PATTERN


@pytest.mark.parametrize(
    "year",
    [
        None,
        1,
        1965,
        1965.0,
        147.0,
        float(NEXT_YEAR),
        NEXT_YEAR,
        NEXT_YEAR + 1,
        float(NEXT_YEAR + 1),
        0,
        -1,
        147.5,
        "1999",
        "",
        True,
        False,
        10**12,
        1e20,
        float("inf"),
        float("nan"),
        [1999],
        {"year": 1999},
    ],
    ids=repr,
)
def test_the_schema_and_the_rules_agree_on_the_year(year: Any) -> None:
    payload = {**DUNE, "year": year}
    _data, errors = validate_book(payload)
    assert spec_validator("BookInput").is_valid(payload) == (errors == {})


def isbn_samples() -> list[str]:
    """Real ISBNs written every way, near misses, and random strings of their alphabet."""
    written = [
        "",
        " ",
        "\t \t",
        "0441172717",
        "0-441-17271-7",
        " 0 441 17271 7 ",
        "0-8044-2957-X",
        "080442957x",
        "978-0-441-17271-9",
        "978 0 441\t17271 9",
        "--9780441172719--",
        "0441172718",  # checksums
        "9780441172718",
        "044117271",  # lengths
        "04411727170",
        "97804411727199",
        "978044117271X",  # X only ends an ISBN-10
        "X441172717",
        "-",
        "\u00a0",
        "0441172717\r",
        "0441_172717",
        "\u0660441172717",  # Arabic-Indic zero
        "\uff10441172717",  # fullwidth zero
        "isbn 0441172717",
    ]
    rng = random.Random(11)
    alphabet = "0123456789Xx -\t_.\u00a0\u0663"
    fuzz = ["".join(rng.choices(alphabet, k=rng.randint(0, 18))) for _ in range(3000)]
    digits = [
        "".join(rng.choices("0123456789-", k=rng.choice([10, 12, 13, 15]))) for _ in range(3000)
    ]
    return written + fuzz + digits


def test_the_schema_and_the_rules_agree_on_the_isbn() -> None:
    """The pattern is the rules' shape: a string matches it exactly when the rules read it
    as no ISBN or as 10 or 13 characters of an ISBN; the rules accept it exactly when it
    matches and its checksum, which no pattern can compute, is right.

    Not sampled: a final newline. JSON Schema patterns are ECMA-262, where `$` is the end
    of the string; Python's re (so jsonschema) also lets it match before a final "\\n".
    The rules refuse one, as ECMA's reading of the pattern does."""
    validator = spec_validator("BookInput")
    disagree = []
    for value in isbn_samples():
        digits = isbn.normalize(value)
        blank = not value.strip(" \t")
        shape = blank or re.fullmatch(r"[0-9]{9}[0-9X]|[0-9]{13}", digits) is not None
        checksum = blank or isbn.isbn10_ok(digits) or isbn.isbn13_ok(digits)
        matches = validator.is_valid({**DUNE, "isbn": value})
        _data, errors = validate_book({**DUNE, "isbn": value})
        if matches != shape or (errors == {}) != (matches and checksum):
            disagree.append(value)
    assert disagree == []
    for final_newline in ("0441172717\n", "\n"):
        _data, errors = validate_book({**DUNE, "isbn": final_newline})
        assert set(errors) == {"isbn"}


# --- The list's query parameters: the document and library/listing.py agree ------------


def test_the_list_parameters_are_the_ones_the_api_reads(spec: dict[str, Any]) -> None:
    parameters = {p["name"]: p["schema"] for p in spec["paths"]["/books"]["get"]["parameters"]}
    assert parameters["sort"]["enum"] == list(listing.SORTS)
    assert parameters["sort"]["default"] == listing.DEFAULT_SORT
    assert parameters["order"]["enum"] == list(listing.ORDERS)
    assert parameters["order"]["default"] == listing.DEFAULT_ORDER
    assert parameters["q"]["maxLength"] == listing.QUERY_MAX


def test_patch_takes_any_subset_of_the_book_fields(spec: dict[str, Any]) -> None:
    patch = spec["components"]["schemas"]["BookPatch"]
    assert "required" not in patch
    assert set(patch["properties"]) == set(spec["components"]["schemas"]["BookInput"]["properties"])
    validator = spec_validator("BookPatch")
    assert validator.is_valid({}) and validator.is_valid({"year": None})
    assert not validator.is_valid({"title": ""}) and not validator.is_valid({"id": 3})

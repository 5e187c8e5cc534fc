"""/api/v1/export and /api/v1/imports: the library out as CSV or JSON, a CSV in as a
job whose progress and report GET /imports/{id} gives (the import page polls it)."""

from __future__ import annotations

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from bookshelf.api import api_user, bp, found_or_404
from bookshelf.errors import ApiError
from bookshelf.transfer import export
from bookshelf.transfer.csv_formats import ImportFileError, read_csv
from bookshelf.transfer.jobs import create_job, owned_job
from bookshelf.transfer.pages import download

CSV_TYPES = ("text/csv", "application/csv", "text/plain")


@bp.get("/export")
def export_library() -> ResponseReturnValue:
    wanted = request.args.get("format", "json")
    if wanted == "csv":
        return download(export.csv_text(api_user().id), "text/csv; charset=utf-8", "csv")
    if wanted == "json":
        return download(export.json_text(api_user().id), "application/json", "json")
    raise ApiError(422, _("Invalid query parameter."), {"format": _("Must be csv or json.")})


def _uploaded_csv() -> tuple[str, bytes]:
    """The CSV of the request: a multipart `file`, or the body itself as text/csv."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ApiError(
                422, _("Send the CSV as the form field 'file'."), {"file": _("Missing.")}
            )
        return upload.filename, upload.read()
    if request.mimetype in CSV_TYPES:
        return request.args.get("filename", "import.csv"), request.get_data()
    raise ApiError(415, _("Send the file as text/csv or as multipart/form-data."))


@bp.post("/imports")
def create_import() -> ResponseReturnValue:
    filename, data = _uploaded_csv()
    try:
        parsed = read_csv(data)
    except ImportFileError as error:
        raise ApiError(422, str(error)) from None
    job = create_job(api_user(), filename, parsed)
    response = jsonify(job.to_dict())
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_import", job_id=job.id)
    return response


@bp.get("/imports/<job_id>")
def get_import(job_id: str) -> ResponseReturnValue:
    found = found_or_404(owned_job(api_user().id, job_id), _("No such import."))
    return jsonify(found.to_dict())

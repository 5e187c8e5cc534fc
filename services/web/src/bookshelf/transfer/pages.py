"""The import and export pages: download the library, upload a CSV, follow the job."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from werkzeug.wrappers import Response

from bookshelf.extensions import db
from bookshelf.transfer import export
from bookshelf.transfer.csv_formats import ImportFileError, read_csv
from bookshelf.transfer.jobs import ImportJob, create_job, owned_job

bp = Blueprint("transfer", __name__)
RECENT_JOBS = 5


class ImportForm(FlaskForm):
    file = FileField()


@bp.before_request
@login_required
def require_login() -> None:
    """Every page here belongs to the logged-in user."""


def download(body: str, mimetype: str, extension: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename(extension)}"'
    return response


@bp.get("/books/export.csv")
def export_csv() -> Response:
    return download(export.csv_text(current_user.id), "text/csv; charset=utf-8", "csv")


@bp.get("/books/export.json")
def export_json() -> Response:
    return download(export.json_text(current_user.id), "application/json", "json")


def _recent_jobs() -> list[ImportJob]:
    query = (
        select(ImportJob)
        .where(ImportJob.owner_id == current_user.id)
        .order_by(ImportJob.created_at.desc())
        .limit(RECENT_JOBS)
    )
    return list(db.session.scalars(query))


@bp.route("/import", methods=["GET", "POST"])
def upload() -> Response | tuple[str, int]:
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        if not upload or not upload.filename:
            form.file.errors = [_("Choose a CSV file.")]
        else:
            try:
                parsed = read_csv(upload.read())
            except ImportFileError as error:
                form.file.errors = [str(error)]
            else:
                job = create_job(current_user, upload.filename, parsed)
                return redirect(url_for("transfer.job", job_id=job.id), code=303)
    page = render_template("transfer/import.html", form=form, jobs=_recent_jobs())
    return page, (422 if form.errors else 200)


@bp.get("/import/<job_id>")
def job(job_id: str) -> str:
    found = owned_job(current_user.id, job_id)
    if found is None:
        abort(404)
    return render_template("transfer/job.html", job=found)

"""Error pages that say what went wrong, in the user's language."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class Refused(Exception):
    """A change the rules refuse: ``status`` is the HTTP status, ``message`` is for the user.

    Services raise a subclass named after their area; views turn it into the
    page or fragment with that status and message.
    """

    def __init__(self, status: int, message: str):
        message = str(message)  # a lazy string passed by mistake is rendered now, in the request's language
        super().__init__(message)
        self.status = status
        self.message = message


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Please log in first."),
        403: _("You do not have permission to do this."),
        404: _("The page or record does not exist."),
        405: _("This action is not allowed here."),
        409: _("Someone else changed this record; the page shows the latest version."),
        413: _("The upload is too large."),
        422: _("The submitted data is invalid."),
        429: _("Too many attempts. Please wait and try again."),
        500: _("An internal error occurred. It has been logged."),
    }


def render_error(code: int, message: str | None = None):
    message = message or _messages().get(code, _("Error"))
    template = "errors/_error.html" if request.headers.get("HX-Request") else "errors/error.html"
    return render_template(template, code=code, message=message), code


def init_app(app) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render_error(400, _("The form has expired or is missing its security token. Reload the page and try again."))

    @app.errorhandler(Refused)
    def _refused(refusal: Refused):
        # A refusal no view turned into its own page (a bad query argument, most often).
        from portal.core.extensions import db

        db.session.rollback()
        return render_error(refusal.status, refusal.message)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if request.path.startswith("/static/"):
            return error
        custom = error.description if getattr(error, "jiedian_message", False) else None
        return render_error(error.code or 500, custom)

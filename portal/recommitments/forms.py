"""A leader's decision on a re-commitment."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import InputRequired, Length

from portal.core.forms import NoMarkup, options, strip


class DecisionForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=options([("approve", _l("Approve")), ("reject", _l("Reject"))]),
                          validators=[InputRequired(_l("Choose approve or reject."))])
    comment = TextAreaField(_l("Comment"), filters=[strip], validators=[Length(max=1000, message=_l("At most %(max)d characters.", max=1000)), NoMarkup()])

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from portal.forms import NoMarkup, options, strip


def _reason(label, message):
    return TextAreaField(label, filters=[strip], validators=[
        DataRequired(message), Length(max=1000, message=_l("At most %(max)d characters.", max=1000)), NoMarkup()])


class RecommitForm(FlaskForm):
    reason = _reason(_l("Why the node is late"), _l("Explain why the node is late."))
    new_deadline = DateField(_l("New completion date"), format="%Y-%m-%d", validators=[InputRequired(_l("Enter a date as YYYY-MM-DD."))])


class DecisionForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=options([("approve", _l("Approve")), ("reject", _l("Reject"))]),
                          validators=[InputRequired(_l("Choose approve or reject."))])
    comment = TextAreaField(_l("Comment"), filters=[strip], validators=[Length(max=1000, message=_l("At most %(max)d characters.", max=1000)), NoMarkup()])


class ManualCardForm(FlaskForm):
    colour = SelectField(_l("Card"), choices=options([("yellow", _l("Yellow card")), ("red", _l("Red card")), ("green", _l("Green card"))]))
    reason = _reason(_l("Reason"), _l("A card by hand needs a reason."))


class WithdrawForm(FlaskForm):
    reason = _reason(_l("Reason for withdrawal"), _l("A withdrawal needs a reason."))

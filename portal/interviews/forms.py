from __future__ import annotations

from datetime import UTC

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from portal.core.clock import get_clock
from portal.core.forms import DateTimeLocalField, MultiSelect, NoMarkup, optional_id, strip


def _max(n: int):
    return Length(max=n, message=_l("At most %(max)d characters.", max=n))


def _county_tz():
    """The datetime-local input is county time (it carries no zone of its own)."""
    return get_clock().tz


class ScheduleForm(FlaskForm):
    when = DateTimeLocalField(
        _l("Interview time"),
        tz=_county_tz,
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
        invalid_value_message=_l("Enter a date and time as YYYY-MM-DD HH:MM."),
        validators=[InputRequired(_l("Enter the date and time of the interview."))],
    )
    place = StringField(_l("Place"), filters=[strip],
                        validators=[DataRequired(_l("Enter the place of the interview.")), _max(100), NoMarkup()])
    interviewer_id = SelectField(_l("Interviewer (leader)"), coerce=optional_id, validate_choice=True)
    interviewer_name = StringField(_l("Interviewer as printed on the notice"), filters=[strip], validators=[_max(60), NoMarkup()])
    bring = TextAreaField(_l("What the unit must bring"), filters=[strip], validators=[_max(1000), NoMarkup()])

    def when_utc(self):
        """The chosen time as an aware UTC instant."""
        return self.when.data.astimezone(UTC) if self.when.data else None


class MinutesForm(FlaskForm):
    minutes = TextAreaField(_l("Minutes"), filters=[strip],
                            validators=[DataRequired(_l("Write the minutes of the interview.")), _max(5000), NoMarkup()])


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason for cancelling"), filters=[strip],
                           validators=[DataRequired(_l("A cancellation needs a reason.")), _max(1000), NoMarkup()])


class ProposeForm(FlaskForm):
    unit_id = SelectField(_l("Unit"), coerce=optional_id, validate_choice=True,
                          validators=[InputRequired(_l("Choose a unit."))])
    card_ids = MultiSelect(_l("Cards behind the interview (optional)"), coerce=int)
    reason = TextAreaField(_l("Reason"), filters=[strip],
                           validators=[DataRequired(_l("An interview proposed by hand needs a reason.")), _max(1000), NoMarkup()])

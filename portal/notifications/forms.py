"""Forms of the reminders: a person's own channels, an administrator's test message."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional, ValidationError

from portal.core.forms import MultiSelect, NoMarkup, options, strip
from portal.notifications.channels import email_address, mobile_number
from portal.notifications.texts import PERSONAL_LABELS


def _email(_form, field) -> None:
    if field.data and email_address(field.data) is None:
        raise ValidationError(_l("Enter an e-mail address such as wangming@qingxi.gov.cn."))


def _mobile(_form, field) -> None:
    if field.data and mobile_number(field.data) is None:
        raise ValidationError(_l("Enter an 11-digit mobile number such as 139 0551 0001."))


class PreferencesForm(FlaskForm):
    """Where I am reminded: my addresses, and which of the portal's channels I want."""

    email = StringField(_l("E-mail"), filters=[strip],
                        validators=[Optional(), Length(max=120, message=_l("At most %(max)d characters.", max=120)),
                                    NoMarkup(), _email])
    phone = StringField(_l("Mobile phone"), filters=[strip], validators=[Optional(), _mobile])
    channels = MultiSelect(_l("Remind me by"), choices=options((c, PERSONAL_LABELS[c]) for c in PERSONAL_LABELS))

    def limit_to(self, available) -> None:
        """Offer only the channels this portal has."""
        self.channels.choices = options((c, PERSONAL_LABELS[c]) for c in PERSONAL_LABELS if c in available)


class ChannelTestForm(FlaskForm):
    """Send one test message: to an address (e-mail, mobile) or, for a robot, the numbers to mention."""

    address = StringField(_l("Send to"), filters=[strip],
                          validators=[Length(max=200, message=_l("At most %(max)d characters.", max=200)), NoMarkup()])

"""Forms of the reminders: a person's own channels, an administrator's test message."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from portal.core.forms import MultiSelect, NoMarkup, NumberRange, options, strip
from portal.notifications.channels import email_address, mobile_number
from portal.notifications.texts import KIND_LABELS, PERSONAL_LABELS

# The kinds of notice an administrator may send outside the portal (tests and digests always go).
SENDABLE_KINDS = [kind for kind in KIND_LABELS if kind not in ("test", "digest")]


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

    digest = BooleanField(_l("Gather my e-mails and SMS into one morning digest"))
    quiet = SelectField(_l("No SMS between"), choices=options([
        ("", _l("The county's quiet hours")), ("none", _l("No quiet hours")), ("20:00-08:00", "20:00–08:00"),
        ("21:00-07:00", "21:00–07:00"), ("22:00-07:00", "22:00–07:00"), ("22:00-08:00", "22:00–08:00"),
        ("23:00-07:00", "23:00–07:00")]), default="")

    def limit_to(self, available) -> None:
        """Offer only the channels this portal has."""
        self.channels.choices = options((c, PERSONAL_LABELS[c]) for c in PERSONAL_LABELS if c in available)


class KindsForm(FlaskForm):
    """Which kinds of notice leave the portal (every kind by default; the bell always has them all)."""

    kinds = MultiSelect(_l("Sent outside the portal"), choices=options((k, KIND_LABELS[k]) for k in SENDABLE_KINDS))


class ChannelTestForm(FlaskForm):
    """Send one test message: to an address (e-mail, mobile) or, for a robot, the numbers to mention."""

    address = StringField(_l("Send to"), filters=[strip],
                          validators=[Length(max=200, message=_l("At most %(max)d characters.", max=200)), NoMarkup()])


_URL = Regexp(r"^https?://[^\s<>\"']+$", message=_l("Enter an address starting with http:// or https://."))
_MAX = Length(max=500, message=_l("At most %(max)d characters.", max=500))


class EmailSettingsForm(FlaskForm):
    """The mail server, as an administrator sets it (the password stays in the environment: SMTP_PASSWORD)."""

    host = StringField(_l("Mail server"), filters=[strip],
                       validators=[Optional(), Regexp(r"^[A-Za-z0-9.-]{1,253}$", message=_l("Enter a host name or address."))])
    port = IntegerField(_l("Port"), validators=[Optional(), NumberRange(min=1, max=65535,
                                                                        message=_l("Between %(min)d and %(max)d.", min=1, max=65535))])
    security = SelectField(_l("Security"), choices=options([("starttls", "STARTTLS"), ("ssl", "SSL/TLS"),
                                                           ("none", _l("None (inside a closed network)"))]),
                           default="starttls")
    username = StringField(_l("Login name"), filters=[strip], validators=[Optional(), _MAX, NoMarkup()])
    # "县委县政府督查室 <duban@…>": angle brackets are its syntax (checked as an address below, shown escaped).
    sender = StringField(_l("Sender"), filters=[strip], validators=[Optional(), _MAX])

    def validate_sender(self, field):
        if self.host.data and email_address(field.data or "") is None:
            raise ValidationError(_l("Enter the sender like 县委县政府督查室 <duban@qingxi.gov.cn>."))


class RobotSettingsForm(FlaskForm):
    url = StringField(_l("Robot webhook address"), filters=[strip], validators=[Optional(), _MAX, _URL])


class SmsSettingsForm(FlaskForm):
    url = StringField(_l("Gateway address"), filters=[strip], validators=[Optional(), _MAX, _URL])
    method = SelectField(_l("Method"), choices=options([("POST", "POST"), ("GET", "GET"), ("PUT", "PUT")]),
                         default="POST")
    format = SelectField(_l("Body"), choices=options([("json", "JSON"), ("form", _l("Form (key=value&…)"))]),
                         default="json")
    body = StringField(_l("Request template"), filters=[strip], validators=[Optional(), Length(max=1000)])
    success = StringField(_l("Success rule"), filters=[strip], default="http",
                          validators=[Optional(), Regexp(r"^(http|json:[A-Za-z0-9_.]+=.*)$",
                                                         message=_l("Write http, or json:field=value such as json:code=0."))])
    sign = StringField(_l("SMS signature"), filters=[strip], validators=[Optional(), Length(max=30), NoMarkup()])
    template = StringField(_l("Template id"), filters=[strip], validators=[Optional(), Length(max=60), NoMarkup()])


SETTINGS_FORMS = {"email": EmailSettingsForm, "wecom": RobotSettingsForm, "dingtalk": RobotSettingsForm,
                  "sms": SmsSettingsForm}

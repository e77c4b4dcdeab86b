from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from portal.core.forms import DateField, MultiSelect, NoMarkup, choice_id, options, strip
from portal.meetings.services import KIND_LABELS
from portal.models import MEETING_KINDS


def _max(n: int):
    return Length(max=n, message=f"最多 {n} 个字。")


class MeetingForm(FlaskForm):
    kind = SelectField("会议类型", choices=options((k, KIND_LABELS[k]) for k in MEETING_KINDS), default="weekly")
    title = StringField("会议名称（可不填，按日期和类型生成）", filters=[strip], validators=[_max(100), NoMarkup()])
    held_on = DateField("会议日期", format="%Y-%m-%d", validators=[InputRequired("请按 YYYY-MM-DD 填写会议日期。")])
    chair_id = SelectField("主持人", coerce=choice_id, validate_choice=True)
    place = StringField("地点", filters=[strip], validators=[_max(100), NoMarkup()])
    attendees = TextAreaField("参会人员", filters=[strip], validators=[_max(2000), NoMarkup()])


class MinutesForm(FlaskForm):
    attendees = TextAreaField("参会人员", filters=[strip], validators=[_max(2000), NoMarkup()])
    minutes = TextAreaField("会议纪要", filters=[strip], validators=[DataRequired("请填写会议纪要。"), _max(10000), NoMarkup()])


class DecisionForm(FlaskForm):
    problem_id = SelectField("议定的问题（可不选）", coerce=choice_id, validate_choice=True)
    title = StringField("议定事项", filters=[strip], validators=[DataRequired("请填写议定事项。"), _max(100), NoMarkup()])
    text = TextAreaField("议定内容", filters=[strip], validators=[DataRequired("请填写议定内容。"), _max(4000), NoMarkup()])
    proposal = TextAreaField("拟办意见", filters=[strip], validators=[_max(2000), NoMarkup()])
    lead_unit_id = SelectField("牵头单位", coerce=choice_id, validate_choice=True,
                               validators=[InputRequired("请选择牵头单位。")])
    co_unit_ids = MultiSelect("配合单位", coerce=int)
    is_major = BooleanField("重大事项（办结时限按月计）")

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from portal.core.forms import MultiSelect, NoMarkup, choice_id, strip


def _max(n: int):
    return Length(max=n, message=f"最多 {n} 个字。")


class HandOutForm(FlaskForm):
    source = SelectField("交办来源", validate_choice=True)
    source_ref = StringField("来源说明（批示件文号、督导组、会议名称等）", filters=[strip], validators=[_max(200), NoMarkup()])
    title = StringField("事项名称", filters=[strip], validators=[DataRequired("请填写事项名称。"), _max(100), NoMarkup()])
    text = TextAreaField("交办内容", filters=[strip], validators=[DataRequired("请填写交办内容。"), _max(4000), NoMarkup()])
    proposal = TextAreaField("拟办意见", filters=[strip], validators=[_max(2000), NoMarkup()])
    lead_unit_id = SelectField("牵头单位", coerce=choice_id, validate_choice=True,
                               validators=[InputRequired("请选择牵头单位。")])
    co_unit_ids = MultiSelect("配合单位", coerce=int)
    lead_leader_id = SelectField("督办领导（可不选）", coerce=choice_id, validate_choice=True)
    is_major = BooleanField("重大事项（办结时限按月计）")
    problem_id = HiddenField()


class ReportForm(FlaskForm):
    text = TextAreaField("办理情况", filters=[strip], validators=[DataRequired("请写明办理情况。"), _max(4000), NoMarkup()])


class SignForm(FlaskForm):
    next = HiddenField()

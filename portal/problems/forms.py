from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from portal.core.forms import NoMarkup, choice_id, options, strip
from portal.models import URGENCIES
from portal.problems.services import STEP_LABELS, URGENCY_LABELS


def _max(n: int):
    return Length(max=n, message=f"最多 {n} 个字。")


class RaiseForm(FlaskForm):
    project_id = SelectField("项目/事项", coerce=choice_id, validate_choice=True,
                             validators=[InputRequired("请选择问题所在的项目。")])
    node_id = SelectField("节点（可不选）", coerce=choice_id, validate_choice=True)
    type_id = SelectField("问题类型", coerce=choice_id, validate_choice=True,
                          validators=[InputRequired("请选择问题类型。")])
    title = StringField("问题", filters=[strip], validators=[DataRequired("请用一句话写明问题。"), _max(100), NoMarkup()])
    need = TextAreaField("需要解决的事项", filters=[strip],
                         validators=[DataRequired("请写明需要协调解决什么。"), _max(2000), NoMarkup()])
    needed_from = StringField("需要谁协调（单位或领导）", filters=[strip], validators=[_max(100), NoMarkup()])
    urgency = SelectField("紧急程度", choices=options((u, URGENCY_LABELS[u]) for u in URGENCIES), default="normal")


class StepForm(FlaskForm):
    step = HiddenField(validators=[DataRequired("请选择要办理的事项。")])
    text = TextAreaField("说明", filters=[strip], validators=[_max(2000), NoMarkup()])

    def validate_step(self, field):
        from wtforms.validators import ValidationError

        if field.data not in STEP_LABELS:
            raise ValidationError("请选择要办理的事项。")

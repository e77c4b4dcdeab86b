"""Statutory holidays and make-up working days from the chinese-calendar package

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Only the exceptions to Monday–Friday are stored; admins add later years on
the calendar page when the package does not know them yet.
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}
FIRST_YEAR = 2020

calendar_day = sa.table(
    "calendar_day",
    sa.column("day", sa.Date),
    sa.column("is_workday", sa.Boolean),
    sa.column("name", sa.String),
)


def _rows():
    from chinese_calendar import constants

    rows = []
    for day, holiday in sorted(constants.holidays.items()):
        if day.year >= FIRST_YEAR and day.weekday() < 5:
            rows.append({"day": day, "is_workday": False, "name": NAMES.get(holiday, holiday)})
    for day, holiday in sorted(constants.workdays.items()):
        if day.year >= FIRST_YEAR and day.weekday() >= 5:
            rows.append({"day": day, "is_workday": True, "name": NAMES.get(holiday, holiday) + "调休上班"})
    return rows


def upgrade():
    op.bulk_insert(calendar_day, _rows())


def downgrade():
    op.execute(calendar_day.delete().where(calendar_day.c.day >= date(FIRST_YEAR, 1, 1)))

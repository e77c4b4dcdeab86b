"""A working day's data: points with one decimal, projects carried into next year, monthly investment reports

Revision ID: 0006n
Revises: 0005
Create Date: 2026-12-08

- scoring_policy.green_points / yellow_points / red_points and
  card_event.points: NUMERIC with one decimal place (−0.5 per yellow card);
  existing whole numbers are kept as they are;
- project.carried_from_id: the same project in the year before (结转), whose
  open nodes moved to this one; unique, so a project is carried once;
- investment_report: a project's completed investment reported monthly by
  its contact (cumulative, 万元), one row per project and month.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006n"
down_revision = "0005"
branch_labels = None
depends_on = None

POLICY_POINTS = ("green_points", "yellow_points", "red_points")


def upgrade():
    with op.batch_alter_table("scoring_policy", schema=None) as batch_op:
        for name in POLICY_POINTS:
            batch_op.alter_column(name, existing_type=sa.Integer(), type_=sa.Numeric(5, 1), existing_nullable=False)

    with op.batch_alter_table("card_event", schema=None) as batch_op:
        batch_op.alter_column("points", existing_type=sa.Integer(), type_=sa.Numeric(6, 1), existing_nullable=False)

    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carried_from_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_project_carried_from_id"), ["carried_from_id"])
        batch_op.create_foreign_key(batch_op.f("fk_project_carried_from_id_project"), "project",
                                    ["carried_from_id"], ["id"], ondelete="SET NULL")

    op.create_table("investment_report",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("project_id", sa.Integer(), nullable=False),
    sa.Column("month", sa.Date(), nullable=False),
    sa.Column("completed", sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column("note", sa.String(length=200), nullable=False),
    sa.Column("reported_by_id", sa.Integer(), nullable=True),
    sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_investment_report_project_id_project"),
                            ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["reported_by_id"], ["user.id"], name=op.f("fk_investment_report_reported_by_id_user"),
                            ondelete="SET NULL"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_investment_report")),
    sa.UniqueConstraint("project_id", "month", name="uq_investment_report_month"),
    )
    with op.batch_alter_table("investment_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_investment_report_project_id"), ["project_id"], unique=False)


def downgrade():
    with op.batch_alter_table("investment_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_investment_report_project_id"))
    op.drop_table("investment_report")

    with op.batch_alter_table("project", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_project_carried_from_id_project"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_project_carried_from_id"), type_="unique")
        batch_op.drop_column("carried_from_id")

    # Points written with a decimal are rounded to whole numbers on the way down.
    with op.batch_alter_table("card_event", schema=None) as batch_op:
        batch_op.alter_column("points", existing_type=sa.Numeric(6, 1), type_=sa.Integer(), existing_nullable=False,
                              postgresql_using="round(points)::integer")

    with op.batch_alter_table("scoring_policy", schema=None) as batch_op:
        for name in POLICY_POINTS:
            batch_op.alter_column(name, existing_type=sa.Numeric(5, 1), type_=sa.Integer(), existing_nullable=False,
                                  postgresql_using=f"round({name})::integer")

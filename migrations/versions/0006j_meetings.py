"""The meeting loop: problems, assignments on the 13710 clocks, meetings

Revision ID: 0006j
Revises: 0006n
Create Date: 2026-12-08

- problem_type (seeded: 土地、资金、规划、手续、征迁、要素保障、其他) and problem;
- assignment: a matter (project.kind = 'matter') with its source and hand-out;
  its nodes are its 13710 steps (node.matter_step);
- meeting: date, chair, attendees, place, minutes; its decisions are assignments;
- scoring_policy: the 13710 clocks and the problems' time limit;
- document.kind: 督办通知单 (assignment) and 会议纪要 (minutes).
"""
import sqlalchemy as sa
from alembic import op

revision = '0006j'
down_revision = '0006n'
branch_labels = None
depends_on = None


# The problem types a county starts with (an editable table afterwards).
PROBLEM_TYPES = ("土地", "资金", "规划", "手续", "征迁", "要素保障", "其他")


def problem_type_rows() -> list[dict]:
    return [{"name": name, "sort_order": n, "is_active": True} for n, name in enumerate(PROBLEM_TYPES, 1)]


problem_type_table = sa.table("problem_type", sa.column("name", sa.String), sa.column("sort_order", sa.Integer),
                              sa.column("is_active", sa.Boolean))


def upgrade():
    op.create_table('problem_type',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem_type')),
    sa.UniqueConstraint('name', name=op.f('uq_problem_type_name'))
    )
    op.bulk_insert(problem_type_table, problem_type_rows())
    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('chair_id', sa.Integer(), nullable=True),
    sa.Column('chair_name', sa.String(length=60), nullable=False),
    sa.Column('place', sa.String(length=100), nullable=False),
    sa.Column('attendees', sa.Text(), nullable=False),
    sa.Column('minutes', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('minutes_document_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('weekly', 'onsite', 'review', 'topic')", name=op.f('ck_meeting_kind_known')),
    sa.CheckConstraint("state IN ('planned', 'held')", name=op.f('ck_meeting_state_known')),
    sa.ForeignKeyConstraint(['chair_id'], ['user.id'], name=op.f('fk_meeting_chair_id_user')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_meeting_created_by_id_user')),
    sa.ForeignKeyConstraint(['minutes_document_id'], ['document.id'], name=op.f('fk_meeting_minutes_document_id_document')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting'))
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_held_on'), ['held_on'], unique=False)

    op.create_table('problem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('node_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('type_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('need', sa.Text(), nullable=False),
    sa.Column('needed_from', sa.String(length=100), nullable=False),
    sa.Column('urgency', sa.String(length=10), nullable=False),
    sa.Column('level', sa.String(length=12), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('raised_by_id', sa.Integer(), nullable=False),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("level IN ('in_charge', 'lead_leader', 'meeting')", name=op.f('ck_problem_level_known')),
    sa.CheckConstraint("state IN ('open', 'answered', 'resolved', 'closed')", name=op.f('ck_problem_state_known')),
    sa.CheckConstraint("urgency IN ('normal', 'urgent', 'critical')", name=op.f('ck_problem_urgency_known')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user.id'], name=op.f('fk_problem_answered_by_id_user')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_problem_meeting_id_meeting'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['node_id'], ['node.id'], name=op.f('fk_problem_node_id_node'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_problem_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['raised_by_id'], ['user.id'], name=op.f('fk_problem_raised_by_id_user')),
    sa.ForeignKeyConstraint(['type_id'], ['problem_type.id'], name=op.f('fk_problem_type_id_problem_type')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_problem_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problem'))
    )
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problem_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_problem_node_id'), ['node_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_problem_project_id'), ['project_id'], unique=False)
        batch_op.create_index('ix_problem_state_raised', ['state', 'raised_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_problem_unit_id'), ['unit_id'], unique=False)

    op.create_table('assignment',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('source_ref', sa.String(length=200), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('proposal', sa.Text(), nullable=False),
    sa.Column('is_major', sa.Boolean(), nullable=False),
    sa.Column('handed_out_on', sa.Date(), nullable=False),
    sa.Column('handed_out_by_id', sa.Integer(), nullable=True),
    sa.Column('notice_document_id', sa.Integer(), nullable=True),
    sa.Column('report', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('meeting', 'instruction', 'inspection', 'problem')", name=op.f('ck_assignment_source_known')),
    sa.ForeignKeyConstraint(['handed_out_by_id'], ['user.id'], name=op.f('fk_assignment_handed_out_by_id_user')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_assignment_meeting_id_meeting'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['notice_document_id'], ['document.id'], name=op.f('fk_assignment_notice_document_id_document')),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], name=op.f('fk_assignment_problem_id_problem'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_assignment_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_assignment'))
    )
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_handed_out_on'), ['handed_out_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_problem_id'), ['problem_id'], unique=False)

    with op.batch_alter_table('node', schema=None) as batch_op:
        batch_op.add_column(sa.Column('matter_step', sa.String(length=10), nullable=True))

    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=8), nullable=False, server_default="project"))
        batch_op.create_check_constraint("kind_known", "kind IN ('project', 'matter')")

    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_document_kind_known"), type_="check")
        batch_op.create_check_constraint(
            "kind_known", "kind IN ('notice', 'bulletin', 'ranking', 'ledger', 'assignment', 'minutes')")

    with op.batch_alter_table('scoring_policy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_days', sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column('feedback_days', sa.Integer(), nullable=False, server_default="3"))
        batch_op.add_column(sa.Column('resolve_days', sa.Integer(), nullable=False, server_default="7"))
        batch_op.add_column(sa.Column('major_resolve_months', sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column('problem_limit_days', sa.Integer(), nullable=False, server_default="7"))



def downgrade():
    with op.batch_alter_table('scoring_policy', schema=None) as batch_op:
        batch_op.drop_column('problem_limit_days')
        batch_op.drop_column('major_resolve_months')
        batch_op.drop_column('resolve_days')
        batch_op.drop_column('feedback_days')
        batch_op.drop_column('receipt_days')

    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_document_kind_known"), type_="check")
        batch_op.create_check_constraint("kind_known", "kind IN ('notice', 'bulletin', 'ranking', 'ledger')")

    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_project_kind_known"), type_="check")
        batch_op.drop_column('kind')

    with op.batch_alter_table('node', schema=None) as batch_op:
        batch_op.drop_column('matter_step')

    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_problem_id'))
        batch_op.drop_index(batch_op.f('ix_assignment_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_assignment_handed_out_on'))

    op.drop_table('assignment')
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_problem_unit_id'))
        batch_op.drop_index('ix_problem_state_raised')
        batch_op.drop_index(batch_op.f('ix_problem_project_id'))
        batch_op.drop_index(batch_op.f('ix_problem_node_id'))
        batch_op.drop_index(batch_op.f('ix_problem_meeting_id'))

    op.drop_table('problem')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_held_on'))

    op.drop_table('meeting')
    op.drop_table('problem_type')

"""Indexes for the sweep and the rankings at province scale

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Found by the benchmarks (bench/): over a million nodes and card events the
sweep scanned the whole node table for late nodes, and looked up a node's
cards without an index (SQLite scanned card_event once per node).

- ix_card_event_node_colour: a node's cards of a colour (the sweep's "has it
  had this card" test, the node page, the ON DELETE CASCADE from node);
- ix_node_late_deadline: only nodes not submitted by their deadline, the
  sweep's yellow-card candidates;
- ix_node_committed_deadline: only re-committed nodes, the red-card candidates;
- ix_card_event_unit_scores replaces ix_card_event_unit_effective with the
  columns a ranking sums, so the year's GROUP BY reads the index only
  (SQLite: 3.3 s → 0.2 s over a million card events).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LATE = "submitted_on IS NULL OR submitted_on > deadline"
COMMITTED = "committed_deadline IS NOT NULL"


def upgrade():
    with op.batch_alter_table("card_event", schema=None) as batch_op:
        batch_op.create_index("ix_card_event_node_colour", ["node_id", "colour"], unique=False)
        batch_op.drop_index("ix_card_event_unit_effective")
        batch_op.create_index("ix_card_event_unit_scores",
                              ["unit_id", "effective_date", "is_withdrawn", "colour", "points"], unique=False)
    with op.batch_alter_table("node", schema=None) as batch_op:
        batch_op.create_index("ix_node_late_deadline", ["deadline"], unique=False,
                              sqlite_where=sa.text(LATE), postgresql_where=sa.text(LATE))
        batch_op.create_index("ix_node_committed_deadline", ["committed_deadline"], unique=False,
                              sqlite_where=sa.text(COMMITTED), postgresql_where=sa.text(COMMITTED))


def downgrade():
    with op.batch_alter_table("node", schema=None) as batch_op:
        batch_op.drop_index("ix_node_committed_deadline")
        batch_op.drop_index("ix_node_late_deadline")
    with op.batch_alter_table("card_event", schema=None) as batch_op:
        batch_op.drop_index("ix_card_event_unit_scores")
        batch_op.create_index("ix_card_event_unit_effective", ["unit_id", "effective_date"], unique=False)
        batch_op.drop_index("ix_card_event_node_colour")

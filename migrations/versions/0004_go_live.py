"""Going live with a county's own ledgers and organisation chart

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

- county_setting: county-wide settings outside the effective-dated policy
  (``go_live_on``, 启用日期: no card is effective before it);
- unit_alias: the other names a unit is written under in ledgers;
- node_co_unit: co-responsible units (配合单位) of a node;
- node.responsible_name: the responsible person as the ledger names them,
  when they have no account; node.note: the ledger's 备注;
- user.must_change_password: accounts made with a one-time password;
- ledger_mapping: saved column mappings for ledgers laid out alike.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "county_setting",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by_id"], ["user.id"], name=op.f("fk_county_setting_updated_by_id_user"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_county_setting")),
    )
    op.create_table(
        "ledger_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], name=op.f("fk_ledger_mapping_created_by_id_user"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_mapping")),
        sa.UniqueConstraint("name", name=op.f("uq_ledger_mapping_name")),
    )
    op.create_table(
        "unit_alias",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_unit_alias_unit_id_unit"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_alias")),
        sa.UniqueConstraint("name", name=op.f("uq_unit_alias_name")),
    )
    with op.batch_alter_table("unit_alias", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_alias_unit_id"), ["unit_id"], unique=False)
    op.create_table(
        "node_co_unit",
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["node_id"], ["node.id"], name=op.f("fk_node_co_unit_node_id_node"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_node_co_unit_unit_id_unit"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("node_id", "unit_id", name=op.f("pk_node_co_unit")),
    )
    with op.batch_alter_table("node_co_unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_node_co_unit_unit_id"), ["unit_id"], unique=False)
    with op.batch_alter_table("node", schema=None) as batch_op:
        batch_op.add_column(sa.Column("responsible_name", sa.String(length=40), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
    with op.batch_alter_table("node", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("responsible_name")
    with op.batch_alter_table("node_co_unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_node_co_unit_unit_id"))
    op.drop_table("node_co_unit")
    with op.batch_alter_table("unit_alias", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_alias_unit_id"))
    op.drop_table("unit_alias")
    op.drop_table("ledger_mapping")
    op.drop_table("county_setting")

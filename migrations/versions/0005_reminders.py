"""Reminders that leave the portal: deliveries over e-mail, robots and SMS

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

- delivery: one message to one person or group over one channel, with its
  status and attempts; unique per (event, recipient, channel); ``digest`` and
  ``digest_id`` for the morning digest, ``unit_id`` for a unit's own robot;
- notification.fanned_out_at: the outbox marker (notices written before this
  revision count as fanned out: nobody gets old news by SMS);
- user.email, user.notify_channels, user.notify_digest, user.notify_quiet:
  where and how a person is reminded;
- unit.robot_channel, unit.robot_url, unit.robot_secret: a unit's group robot.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("delivery",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("key", sa.String(length=200), nullable=False),
    sa.Column("notification_id", sa.Integer(), nullable=True),
    sa.Column("user_id", sa.Integer(), nullable=True),
    sa.Column("unit_id", sa.Integer(), nullable=True),
    sa.Column("digest", sa.Boolean(), nullable=False),
    sa.Column("digest_id", sa.Integer(), nullable=True),
    sa.Column("channel", sa.String(length=10), nullable=False),
    sa.Column("address", sa.String(length=200), nullable=False),
    sa.Column("kind", sa.String(length=30), nullable=False),
    sa.Column("subject", sa.String(length=200), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("link", sa.String(length=200), nullable=False),
    sa.Column("state", sa.String(length=10), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=False),
    sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("channel IN ('email', 'wecom', 'dingtalk', 'sms')", name=op.f("ck_delivery_channel_known")),
    sa.CheckConstraint("state IN ('pending', 'sending', 'sent', 'failed', 'folded')", name=op.f("ck_delivery_state_known")),
    sa.ForeignKeyConstraint(["digest_id"], ["delivery.id"], name=op.f("fk_delivery_digest_id_delivery"), ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["notification_id"], ["notification.id"], name=op.f("fk_delivery_notification_id_notification"), ondelete="SET NULL"),
    sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_delivery_unit_id_unit"), ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_delivery_user_id_user"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery")),
    sa.UniqueConstraint("key", name=op.f("uq_delivery_key"))
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_created", ["created_at"], unique=False)
        batch_op.create_index("ix_delivery_due", ["state", "not_before"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_notification_id"), ["notification_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fanned_out_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_notification_fanned_out_at"), ["fanned_out_at"], unique=False)
    notification = sa.table("notification", sa.column("created_at", sa.DateTime(timezone=True)),
                            sa.column("fanned_out_at", sa.DateTime(timezone=True)))
    op.execute(notification.update().values(fanned_out_at=notification.c.created_at))

    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("robot_channel", sa.String(length=10), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("robot_url", sa.String(length=500), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("robot_secret", sa.String(length=200), nullable=False, server_default=""))

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=120), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("notify_channels", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("notify_digest", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("notify_quiet", sa.String(length=11), nullable=True))



def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("notify_quiet")
        batch_op.drop_column("notify_digest")
        batch_op.drop_column("notify_channels")
        batch_op.drop_column("email")

    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_column("robot_secret")
        batch_op.drop_column("robot_url")
        batch_op.drop_column("robot_channel")

    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_fanned_out_at"))
        batch_op.drop_column("fanned_out_at")

    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_user_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_notification_id"))
        batch_op.drop_index("ix_delivery_due")
        batch_op.drop_index("ix_delivery_created")

    op.drop_table("delivery")

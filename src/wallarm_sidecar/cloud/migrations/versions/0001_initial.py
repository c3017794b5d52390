"""Tokens, node groups, nodes, hits, attacks, mode rules, IP lists.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attack_type", sa.String(length=64), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=2048), nullable=False),
        sa.Column("node_group", sa.String(length=200), nullable=False),
        sa.Column("application", sa.String(length=200), nullable=False),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("blocked_hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attacks")),
    )
    with op.batch_alter_table("attacks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attacks_first_seen"), ["first_seen"], unique=False)
        batch_op.create_index(
            "ix_attacks_grouping",
            ["attack_type", "client_ip", "host", "path", "last_seen"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_attacks_node_group"), ["node_group"], unique=False)

    op.create_table(
        "ip_list_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list", sa.String(length=8), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=True),
        sa.Column("application", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ip_list_entries")),
    )
    with op.batch_alter_table("ip_list_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ip_list_entries_list"), ["list"], unique=False)

    op.create_table(
        "mode_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_group", sa.String(length=200), nullable=False),
        sa.Column("application", sa.String(length=200), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mode_rules")),
        sa.UniqueConstraint("node_group", "application", name="uq_mode_rules_scope"),
    )
    op.create_table(
        "node_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_node_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_node_groups_name")),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("usage", sa.String(length=20), nullable=False),
        sa.Column("node_group", sa.String(length=200), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=True),
        sa.Column("derived_key", sa.LargeBinary(length=32), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_tokens_token_hash")),
    )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tokens_key_id"), ["key_id"], unique=False)

    op.create_table(
        "hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("point", sa.String(length=512), nullable=False),
        sa.Column("attack_type", sa.String(length=64), nullable=False),
        sa.Column("fragment", sa.String(length=2048), nullable=False),
        sa.Column("rule_id", sa.String(length=128), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("node_name", sa.String(length=253), nullable=False),
        sa.Column("node_group", sa.String(length=200), nullable=False),
        sa.Column("application", sa.String(length=200), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=2048), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("attack_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attack_id"], ["attacks.id"], name=op.f("fk_hits_attack_id_attacks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hits")),
        sa.UniqueConstraint("request_id", "point", "attack_type", name="uq_hits_idempotency"),
    )
    with op.batch_alter_table("hits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hits_attack_id"), ["attack_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_hits_time"), ["time"], unique=False)

    op.create_table(
        "nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=253), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.String(length=63), nullable=False),
        sa.Column("pod", sa.String(length=253), nullable=False),
        sa.Column("credential_hash", sa.String(length=64), nullable=False),
        sa.Column("registered_by", sa.Integer(), nullable=True),
        sa.Column("registered_at", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"], ["node_groups.id"], name=op.f("fk_nodes_group_id_node_groups")
        ),
        sa.ForeignKeyConstraint(
            ["registered_by"], ["tokens.id"], name=op.f("fk_nodes_registered_by_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nodes")),
        sa.UniqueConstraint("credential_hash", name=op.f("uq_nodes_credential_hash")),
        sa.UniqueConstraint("group_id", "name", name="uq_nodes_group_id_name"),
    )
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nodes_group_id"), ["group_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nodes_group_id"))

    op.drop_table("nodes")
    with op.batch_alter_table("hits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hits_time"))
        batch_op.drop_index(batch_op.f("ix_hits_attack_id"))

    op.drop_table("hits")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tokens_key_id"))

    op.drop_table("tokens")
    op.drop_table("node_groups")
    op.drop_table("mode_rules")
    with op.batch_alter_table("ip_list_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ip_list_entries_list"))

    op.drop_table("ip_list_entries")
    with op.batch_alter_table("attacks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attacks_node_group"))
        batch_op.drop_index("ix_attacks_grouping")
        batch_op.drop_index(batch_op.f("ix_attacks_first_seen"))

    op.drop_table("attacks")

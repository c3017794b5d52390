"""API inventory: endpoints and parameters (postanalytics appstructure).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_endpoints")),
        sa.UniqueConstraint("application", "host", "method", "path", name="uq_api_endpoints_key"),
    )
    with op.batch_alter_table("api_endpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_endpoints_last_seen"), ["last_seen"], unique=False)

    op.create_table(
        "api_parameters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("point", sa.String(length=512), nullable=False),
        sa.Column("value_type", sa.String(length=32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["api_endpoints.id"],
            name=op.f("fk_api_parameters_endpoint_id_api_endpoints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_parameters")),
        sa.UniqueConstraint("endpoint_id", "point", "value_type", name="uq_api_parameters_key"),
    )
    with op.batch_alter_table("api_parameters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_parameters_endpoint_id"), ["endpoint_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("api_parameters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_parameters_endpoint_id"))

    op.drop_table("api_parameters")
    with op.batch_alter_table("api_endpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_endpoints_last_seen"))

    op.drop_table("api_endpoints")

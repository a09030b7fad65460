"""Run limits, usage and live output: a run's memory limit and CPUs, its peak memory and CPU
seconds, and the cells of a running notebook as executed so far.

Revision ID: 0004
Revises: 0003

"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("memory_limit_bytes", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("cpus", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("peak_memory_bytes", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("cpu_seconds", sa.Float(), nullable=True))

    op.create_table(
        "run_live_cells",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("cell", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "position"),
    )
    with op.batch_alter_table("run_live_cells", schema=None) as batch_op:
        batch_op.create_index("ix_run_live_cells_run_seq", ["run_id", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_live_cells", schema=None) as batch_op:
        batch_op.drop_index("ix_run_live_cells_run_seq")
    op.drop_table("run_live_cells")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("cpu_seconds")
        batch_op.drop_column("peak_memory_bytes")
        batch_op.drop_column("cpus")
        batch_op.drop_column("memory_limit_bytes")

"""Alembic's environment for every ProductOps component; the work is in `shared.migrations`."""

from alembic import context

from shared.migrations import run_environment

run_environment(context)

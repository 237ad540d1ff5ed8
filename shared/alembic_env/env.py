"""Alembic's environment for every ProductOps component; the work is in `shared.migrations`."""

from typing import cast

from alembic import context
from alembic.runtime.environment import EnvironmentContext

from shared.migrations import run_environment

# `alembic.context` is a module that stands in for the running EnvironmentContext.
run_environment(cast(EnvironmentContext, context))

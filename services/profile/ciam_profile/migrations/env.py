from alembic import context

from ciam_profile.models import Base
from ciam_shared.db.migrations import run_env

run_env(context, Base.metadata)

"""Local infrastructure without Docker: Kafka (KRaft, jars from Maven), PostgreSQL and Redis
from Debian's packages, each a child process that is stopped with its whole process group.

Used by the runner (`make run`) and by the pytest plugin when no Docker engine answers.
"""

from ciam_devtools.devstack.errors import DevStackError
from ciam_devtools.devstack.kafka import start_kafka
from ciam_devtools.devstack.postgres import start_postgres
from ciam_devtools.devstack.process import ManagedProcess, free_port, free_ports, repo_root
from ciam_devtools.devstack.redis import start_redis

__all__ = [
    "DevStackError",
    "ManagedProcess",
    "free_port",
    "free_ports",
    "repo_root",
    "start_kafka",
    "start_postgres",
    "start_redis",
]

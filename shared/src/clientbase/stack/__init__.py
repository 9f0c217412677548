"""Local infrastructure without Docker: Kafka, FerretDB v1 on PostgreSQL (or SQLite) and Mailpit on 127.0.0.1."""

from clientbase.stack.config import StackConfig
from clientbase.stack.errors import PortInUseError, StackError
from clientbase.stack.ports import free_port
from clientbase.stack.stack import LocalStack, StackEndpoints

__all__ = ["LocalStack", "PortInUseError", "StackConfig", "StackEndpoints", "StackError", "free_port"]

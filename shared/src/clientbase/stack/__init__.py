"""Local infrastructure without Docker: a real Kafka broker and FerretDB v1 on 127.0.0.1."""

from clientbase.stack.config import StackConfig
from clientbase.stack.errors import PortInUseError, StackError
from clientbase.stack.ports import free_port
from clientbase.stack.stack import LocalStack, StackEndpoints

__all__ = ["LocalStack", "PortInUseError", "StackConfig", "StackEndpoints", "StackError", "free_port"]

"""Registers the rotation component-test fixtures."""

from rotation_harness import harness  # noqa: F401

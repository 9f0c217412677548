"""Registers the rotation integration-test fixtures."""

from rotation_live_kit import live  # noqa: F401

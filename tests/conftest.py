"""Loads the shared fixtures that start the real local stack for integration tests."""

pytest_plugins = ["clientbase.testing.stack_fixtures"]

"""Test utilities shared by every service's tests, such as the real local stack as a pytest fixture."""

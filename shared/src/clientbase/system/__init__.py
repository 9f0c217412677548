"""Runs the four services as separate local processes next to the stack, and feeds them demo events."""

"""Campaigns: an audience by segment expanded into per-client requests through the policy pipeline."""

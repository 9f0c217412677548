"""Crypto-shredding of personal fields in published events: per-client data keys in a key vault."""

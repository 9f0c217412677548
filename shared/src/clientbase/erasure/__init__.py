"""Erasure of a client's personal data: keyed hashes, the per-service erasure kit and the export route."""

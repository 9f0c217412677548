"""Kafka helpers: broker factory, event publishing and the consumer reliability kit."""

"""The public event contract: envelope, inbound and outbound payloads, and topic-to-model mapping."""

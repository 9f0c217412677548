"""Dead-letter tooling: list, inspect and replay the `<topic>.dlq` topics of every consumer."""

"""Common code of the ClientBase services: event contract, topics, settings, logging and reliability kit."""

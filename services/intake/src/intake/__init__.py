"""ClientBase intake service: Normalizes leads from web forms and calls into one clean client record each."""

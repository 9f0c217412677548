"""ClientBase metrics service: Aggregates retention figures into MongoDB for dashboards."""

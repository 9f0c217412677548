"""The metrics dashboard: browser pages on the metrics port behind a login with the API token."""

"""ClientBase notify service: Sends SMS and email only to consenting contacts, within promised frequency and quiet hours."""

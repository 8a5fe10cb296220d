"""What every package uses and that knows nothing about HA: errors and exit codes, messages,
the journal, safe file writes, logs, check rows, the terminal, the payload."""

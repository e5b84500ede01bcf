"""One module per CLI command; each exposes a function the CLI calls."""

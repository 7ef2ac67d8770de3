"""Local servers that stand in for the outside world (push providers, TLS)."""

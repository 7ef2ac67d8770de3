"""`harbour demo`: the demo council, seeded through the domain functions."""

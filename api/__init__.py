"""The edge: app factory, routes, auth, command line, worker."""

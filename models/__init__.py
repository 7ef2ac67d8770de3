"""Harbour's shared foundation: tables, schemas, the engine, scope queries."""

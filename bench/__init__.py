"""Benchmarks and the data generator."""

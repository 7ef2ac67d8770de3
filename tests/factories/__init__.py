"""Test factories: plain functions that build rows through the domain or directly."""

"""Comet internals: nothing here is public API."""

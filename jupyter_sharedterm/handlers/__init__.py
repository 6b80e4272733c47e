"""Thin tornado adapters: authorize -> decode -> call the core -> encode."""

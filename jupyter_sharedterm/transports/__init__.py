"""Byte pipes to a terminal, all behind the one interface in `base`."""

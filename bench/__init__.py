"""The jupyter_sharedterm benchmark: `python -m bench` (see bench/README.md)."""

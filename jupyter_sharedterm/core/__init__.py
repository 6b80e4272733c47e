"""The pure domain core: no I/O framework imports (a test enforces this)."""

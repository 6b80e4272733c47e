"""Session recording: the asciicast v2 format, the on-disk store, the session-facing recorder."""

"""Memories: durable findings about a host or device, saved with their author and source."""

"""The parts of a live session that `live.LiveSession` coordinates: taps, reactions, output."""

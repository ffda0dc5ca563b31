"""Live input: hit streams from kits and browsers, scored as they arrive."""

"""drumjam: drum jam sessions -- play along, score every hit, analyse duets, teach grooves."""

__version__ = "0.1.0"

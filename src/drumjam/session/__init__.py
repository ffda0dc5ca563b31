"""A jam session over time: players, clock, calibration, recording."""

"""Lessons: a teacher's take becomes a pattern, notation and a tempo trainer."""

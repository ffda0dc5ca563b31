"""Scoring: matching hits to targets, judgments, timing statistics, duet synchrony."""

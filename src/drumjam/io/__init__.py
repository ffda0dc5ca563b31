"""Reading and writing files: MIDI, audio, charts and exports. MIDI ticks never leave here."""

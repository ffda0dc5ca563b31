"""Song analysis: audio -> beat map (beats, downbeats, tempo), onsets."""

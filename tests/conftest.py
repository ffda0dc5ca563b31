"""Shared fixtures: the data folder beside the repository and a private DRUMJAM_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GROOVE_MIDI = SHARED_DATA / "groove-midi"
BEATS = SHARED_DATA / "beats"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (groove-midi/ and beats/)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def groove_midi(shared_data: Path) -> Path:
    """The Groove MIDI Dataset subset."""
    return shared_data / "groove-midi"


@pytest.fixture(autouse=True)
def _private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own DRUMJAM_HOME and database unless it sets them itself."""
    home = tmp_path_factory.mktemp("drumjam-home")
    monkeypatch.setenv("DRUMJAM_HOME", str(home))
    monkeypatch.delenv("DRUMJAM_DB_URL", raising=False)

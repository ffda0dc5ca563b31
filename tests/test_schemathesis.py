"""The app's HTTP API against its own OpenAPI schema (Schemathesis): no server error, and every
answer documented (status, content type, body schema), bad data refused with a 4xx.

A saved duet (id 1) and a lesson named "0" exist, so that generated ids and names also reach
real sessions and lessons. Bounded: a few dozen cases per operation, about a minute in all.
"""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from drumjam.web.app import create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance, negative_data_rejection]
EXAMPLES_PER_OPERATION = 25


def _seeded_app():  # noqa: ANN202 (a FastAPI app)
    import tempfile

    app = create_app(home=tempfile.mkdtemp(prefix="drumjam-schemathesis-"),
                     rate_limits={"sessions": (10**6, 1e6), "rooms": (10**6, 1e6)})
    with TestClient(app) as client:
        live = client.post("/api/sessions", json={"song_id": "slow-funk", "players": [
            {"name": "Ann", "latency_ms": 0}, {"name": "Bob", "latency_ms": 0}]}).json()
        with client.websocket_connect(live["websocket"]) as ws:
            for i, note in enumerate(live["plan"]["notes"][:24]):
                for player in (0, 1):
                    ws.send_json({"type": "hit", "seq": i, "player": player,
                                  "time_s": note["time_s"] + 0.004 * player, "voice": note["voice"]})
                    ws.receive_json()
            ws.send_json({"type": "finish"})
            assert ws.receive_json()["session_id"] == 1
        hits = [{"time_s": k * 0.25, "voice": "kick" if k % 4 == 0 else "hihat_closed"} for k in range(32)]
        assert client.post("/api/lessons", json={"name": "0", "tempo_bpm": 120, "hits": hits}).status_code == 200
    return app


schema = schemathesis.openapi.from_asgi("/openapi.json", _seeded_app())


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_documented(case):
    case.call_and_validate(checks=CHECKS)

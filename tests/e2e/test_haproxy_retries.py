"""HAProxy (deploy/haproxy.cfg as the cluster runs it) sends a request once more, to the other replica, when the
replica it chose dies with the request in hand, for requests as large as the ones Rasa sends its action server:
each carries the whole domain (about 70 kB) and the conversation's events. A request HAProxy cannot hold whole
cannot be sent again, and the citizen lost the answer to a booking the api had already made."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from deploy.cluster import Cluster

pytestmark = pytest.mark.stack

# Reads the whole request, then either answers or dies at once, as a replica killed mid-turn (SIGKILL, nothing
# cleaned up). Each request it sees is counted in a file, so the test knows the dying replica was really chosen.
REPLICA = """
import http.server, os, signal, sys

port, dies, seen = int(sys.argv[1]), sys.argv[2] == "dies", sys.argv[3]

class Replica(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self._answer(b"ok")

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(seen, "a") as counted:
            counted.write(f"{len(body)}\\n")
        if dies:
            os.kill(os.getpid(), signal.SIGKILL)
        self._answer(b'{"events": [], "responses": []}')

    def _answer(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", port), Replica).serve_forever()
"""


@pytest.fixture
def actions_behind_haproxy(tmp_path) -> Iterator[tuple[Cluster, list]]:
    cluster = Cluster.on_free_ports(tmp_path)
    seen = [tmp_path / "seen-1", tmp_path / "seen-2"]
    replicas = [
        subprocess.Popen(
            [sys.executable, "-c", REPLICA, str(port), "dies" if number == 0 else "answers", str(seen[number])]
        )
        for number, port in enumerate(cluster.replica_ports["actions"])
    ]
    cluster.launch_haproxy()
    try:
        deadline = time.monotonic() + 30
        while True:  # both replicas up behind HAProxy before the first request
            try:
                if httpx.get(cluster.url("actions") + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, cluster.log_tail("haproxy")
            time.sleep(0.2)
        time.sleep(2.5)  # two health checks: both replicas are in the backend
        yield cluster, seen
    finally:
        for process in [*replicas, cluster.processes["haproxy"]]:
            process.kill()
            process.wait()


def test_a_request_as_large_as_an_action_call_goes_to_the_other_replica_when_the_first_dies_with_it(
    actions_behind_haproxy,
):
    cluster, seen = actions_behind_haproxy
    # The shape of Rasa's call: the action's name, a tracker with its events, and the whole domain.
    call = {
        "next_action": "action_submit_booking",
        "tracker": {"sender_id": "web:someone", "events": [{"event": "user", "text": "예약 확정"}] * 200},
        "domain": {"responses": {f"utter_{n}": [{"text": "파주 DMZ 평화관광 안내입니다. " * 8}] for n in range(600)}},
    }
    body = json.dumps(call, ensure_ascii=False).encode()
    assert len(body) > 150_000
    answers = [
        httpx.post(
            cluster.url("actions") + "/webhook", content=body, headers={"Content-Type": "application/json"}, timeout=30
        ).status_code
        for _ in range(4)
    ]
    assert seen[0].exists(), "the dying replica never got a request: nothing was proven"
    assert answers == [200] * 4, f"{answers}\n{cluster.log_tail('haproxy', 6)}"

"""SIRS Online's Fasyankes interface played by a small real HTTP server that can be told to
misbehave: down, slow, failing, refusing the credential, asking to wait."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CODE = "3274011"
PASSWORD = "rahasia-kemenkes"


class FakeSirs:
    """SIRS Online's Fasyankes interface as a registry that can be told how to misbehave:
    `mode` is ok, down (not listening), slow, 500, 429, 401 (HTTP) or 401-envelope (HTTP 200
    with status "401" inside, as some registries answer)."""

    def __init__(self, port: int | None = None) -> None:
        # The port is held (bound, not listening: connections are refused) from now until
        # `start`, so that no other test process is handed it meanwhile and answers for a
        # registry that is meant to be down.
        self._reservation: socket.socket | None = socket.socket()
        self._reservation.bind(("127.0.0.1", port or 0))
        self.port = self._reservation.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/fo/index.php"
        self.mode = "ok"
        self.retry_after = "2"
        self.requests: list[tuple[float, str, dict[str, Any]]] = []
        self.rows: dict[str, dict[str, dict[str, Any]]] = {}  # rs_id → id_t_tt → row
        self.in_flight = 0
        self.most_in_flight = 0
        self.delay = 0.0  # seconds each answer takes
        self.lock = threading.Lock()
        self.slow_for: set[str] = set()  # hospitals whose every request takes 3 s
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else {}
                fake.requests.append((time.monotonic(), self.command, body))
                status, answer, headers = fake.answer(self.command, self.headers, body)
                raw = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def do_PUT(self) -> None:
                self._answer()

            def do_DELETE(self) -> None:
                self._answer()

            def log_message(self, *args: object) -> None:
                pass

        if self._reservation is not None:
            self._reservation.close()
            self._reservation = None
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._reservation is not None:
            self._reservation.close()
            self._reservation = None
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def answer(
        self, method: str, headers: Any, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        def status(code: str, message: str) -> dict[str, Any]:
            return {"fasyankes": [{"status": code, "message": message}]}

        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            slow = self.mode == "slow" or headers.get("X-rs-id") in self.slow_for
            time.sleep(3 if slow else self.delay)
        finally:
            with self.lock:
                self.in_flight -= 1
        if self.mode == "500":
            return 500, status("500", "Internal Server Error"), {}
        if self.mode == "429":
            return 429, status("429", "Too Many Requests"), {"Retry-After": self.retry_after}
        rs_id = headers.get("X-rs-id", "")
        refused = headers.get("X-pass") != PASSWORD or not rs_id.startswith("3274")
        if self.mode == "401" or refused:
            return 401, status("401", "X-rs-id atau X-pass salah."), {}
        if self.mode == "401-envelope":
            return 200, status("401", "X-rs-id atau X-pass salah."), {}
        rows = self.rows.setdefault(rs_id, {})
        if method == "GET":
            return 200, {"fasyankes": list(rows.values())}, {}
        if method == "POST":
            id_t_tt = f"{rs_id}-{len(rows) + 1}"
            rows[id_t_tt] = body | {"id_t_tt": id_t_tt}
        elif method == "PUT":
            rows[body["id_t_tt"]] |= body
        elif method == "DELETE":
            rows.pop(body["id_t_tt"], None)
        return 200, status("200", "Data telah disimpan."), {}

    def writes(self) -> list[tuple[float, str, dict[str, Any]]]:
        return [r for r in self.requests if r[1] != "GET"]

    def free_beds(self, rs_id: str = CODE) -> int | None:
        rows = list(self.rows.get(rs_id, {}).values())
        return int(rows[0]["jumlah"]) - int(rows[0]["terpakai"]) if rows else None

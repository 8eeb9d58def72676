"""Servers for the batch size optimizer client tests: the real `zeus bso-server` on a free
port with a fresh SQLite database, and a scripted HTTP server that answers set replies in
order and records the requests.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("ZEUS_BUILD_DIR") or ROOT / "build").resolve()
CLI = Path(os.environ.get("ZEUS_CLI") or BUILD / "zeus")

# The fake GPUs of Zeus's test_client.py: four Tesla V100s with a 300 W maximum limit.
V100_SPEC = "gpus=4;limit_min_w=100;limit_max_w=300;limit_default_w=300;name=Tesla V100"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need_cli() -> None:
    """The zeus CLI must be built (make build); its absence fails, never skips."""
    if not CLI.exists():
        pytest.fail(f"no zeus CLI at {CLI}: build it first (make build)")


class BsoServer:
    """`zeus bso-server` on 127.0.0.1:<free port>, database under `tmp`."""

    def __init__(self, tmp: Path) -> None:
        need_cli()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(tmp / "bso-server.log", "w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(CLI), "bso-server", "--listen", f"127.0.0.1:{port}", "--database", f"sqlite:///{tmp}/bso.db"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                pytest.fail(f"zeus bso-server exited with {self.proc.returncode}: {self.log.read()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        pytest.fail("zeus bso-server did not listen within 10 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Scripted:
    """Answers (status, body) replies in order, the last one again after; keeps the requests
    as (method, path, body)."""

    def __init__(self, *replies: tuple[int, object]) -> None:
        self.replies = list(replies)
        self.requests: list[tuple[str, str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode() if n else ""
                outer.requests.append((self.command, self.path, body))
                code, reply = outer.replies[min(len(outer.requests), len(outer.replies)) - 1]
                data = (reply if isinstance(reply, str) else json.dumps(reply)).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _answer

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

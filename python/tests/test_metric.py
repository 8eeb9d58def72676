"""zeusc.metric: Zeus's push metrics over the C ones, against a stdlib HTTP server standing in
for the Pushgateway, and against an unreachable one (a warning and a count, never a raise
into the training loop)."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

import zeusc
from zeusc.metric import EnergyCumulativeCounter, EnergyHistogram, Metric, PowerGauge

UNREACHABLE = "http://127.0.0.1:1"


@pytest.fixture
def gateway():
    """A Pushgateway stand-in that records (method, path, body) of every push."""
    pushes = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _record(self):
            n = int(self.headers.get("Content-Length", 0))
            pushes.append((self.command, self.path, self.rfile.read(n).decode()))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_PUT = do_POST = _record

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", pushes
    server.shutdown()
    server.server_close()


def _no_sync(gpus):
    return None


def test_histogram_pushes_zeus_names(gateway, fake):
    url, pushes = gateway
    h = EnergyHistogram([], [0, 1], url, "train", gpu_bucket_range=[1e-9, 1e6], sync_execution_with=_no_sync)
    assert isinstance(h, Metric)
    h.begin_window("step")
    fake.add_energy_mj(0, 5000)
    time.sleep(0.15)
    h.end_window("step")
    h.flush(5.0)
    assert h.push_stats()["pushes_ok"] >= 1
    method, path, body = pushes[-1]
    assert method == "PUT" and path == "/metrics/job/train"
    assert 'energy_monitor_gpu_energy_joules_bucket{' in body and 'window="step"' in body
    with pytest.raises(ValueError):
        h.end_window("step", sync_execution=False)
    h.close()
    h.close()


def test_counter_and_gauge_push_periodically(gateway):
    url, pushes = gateway
    with EnergyCumulativeCounter([], [0], 0.05, url, "c") as c:
        c.begin_window("epoch")
        time.sleep(0.25)
        c.end_window("epoch")
        c.flush(5.0)
        with pytest.raises(ValueError, match="No active monitoring process found for 'epoch'"):
            c.end_window("epoch")
    assert any("energy_monitor_gpu_energy_joules_total" in body for _, _, body in pushes)
    with PowerGauge([0], 0.05, url, "g") as g:
        g.begin_window("w")
        with pytest.raises(ValueError, match="PowerGauge metric 'w' already exists."):
            g.begin_window("w")
        time.sleep(0.2)
        g.end_window("w")
        g.flush(5.0)
    assert any("power_monitor_gpu_power_watts" in body for _, _, body in pushes)


def test_unreachable_gateway_warns_and_counts():
    h = EnergyHistogram([], [0], UNREACHABLE, "j", sync_execution_with=_no_sync)
    h.begin_window("a", sync_execution=False)
    h.end_window("a", sync_execution=False)  # returns at once: pushing is in the background
    with pytest.warns(zeusc.ZeusWarning, match="Pushgateway push failed"):
        h.flush(5.0)
    stats = h.push_stats()
    assert stats["pushes_failed"] >= 1 and stats["last_status"] == "ERR_IO"
    h.close()


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="GPU bucket range cannot be empty"):
        EnergyHistogram([], [0], UNREACHABLE, "j", gpu_bucket_range=[])
    with pytest.raises(ValueError):
        EnergyCumulativeCounter([], [0], 0, UNREACHABLE, "j")
    with pytest.raises(ValueError):
        PowerGauge([0], 1.0, UNREACHABLE, "")

"""zeusc.monitor.power_streaming against real zeusd processes (<build>/zeusd on the fake NVML,
2 GPUs whose power ramps): Zeus's test_power_streaming cases that apply to a client that
really connects (iterator yields on updates and ends on stop(), async iterator, several
endpoints, snapshots are copies, the clock offset is applied) and construction checks
(duplicates, indices, scopes, a refused token), plus a daemon restarted mid-stream."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import threading
import time

import pytest

from conftest import BUILD
from zeusc.monitor.power_streaming import CpuPowerReading, PowerReadings, PowerStreamingClient
from zeusc.utils.zeusd import ZeusdAuthError, ZeusdCapabilityError, ZeusdConfig

ZEUSD = BUILD / "zeusd"
pytestmark = pytest.mark.skipif(not ZEUSD.exists(), reason=f"no zeusd at {ZEUSD} (build it first)")
RAMP = "gpus=2;trace=ramp;trace_period_ms=1000;low_w=100;power_w=600;period_ms=10"
KEY = "python-stream-test-key-0123456789\n"
DEADLINE_S = 20.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, timeout=DEADLINE_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError("condition not met in time")


def _connects(path=None, port=None) -> bool:
    try:
        if path is not None:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(str(path))
        else:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def daemons(tmp_path):
    """start(kind, *args, shift_ms=None) -> ZeusdConfig kwargs; every daemon stopped at teardown."""
    procs = []

    def start(kind, *args, shift_ms=None, name="d"):
        env = dict(os.environ, ZEUS_FAKE_NVML=RAMP)
        if shift_ms is not None:
            env["ZEUSD_TEST_CLOCK_SHIFT_MS"] = str(shift_ms)
        if kind == "uds":
            sock = tmp_path / f"{name}.sock"
            where = ["--socket-path", str(sock)]
        else:
            port = _free_port()
            where = ["--mode", "tcp", "--tcp-bind-address", f"127.0.0.1:{port}"]
        p = subprocess.Popen([str(ZEUSD), "serve", *where, "--enable", "gpu-read",
                              "--gpu-power-poll-hz", "50", *args],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)
        if kind == "uds":
            _wait(lambda: _connects(path=sock))
            return p, str(sock)
        _wait(lambda: _connects(port=port))
        return p, ("127.0.0.1", port)

    yield start
    for p in procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture
def signing_key(tmp_path):
    path = tmp_path / "key"
    path.write_text(KEY)

    def issue(scope):
        out = subprocess.run([str(ZEUSD), "token", "issue", "--signing-key-path", str(path),
                              "--user", "dana", "--scope", scope, "--expires", "1h"],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    return path, issue


def _until_full(client, endpoints, gpus=2):
    """Iterate until every endpoint has `gpus` GPUs; returns that snapshot."""
    deadline = time.monotonic() + DEADLINE_S
    for snap in client:
        if all(e in snap and len(snap[e].gpu_power_w) == gpus for e in endpoints):
            return snap
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"not every endpoint reported: {client.get_power()}")


def test_merges_uds_and_tcp_with_token(daemons, signing_key):
    key, issue = signing_key
    _, sock = daemons("uds")
    _, (host, port) = daemons("tcp", "--signing-key-path", str(key))
    client = PowerStreamingClient(
        [ZeusdConfig.uds(sock), ZeusdConfig.tcp(host, port, token=issue("gpu-read"))],
        reconnect_delay_s=0.2)
    try:
        snap = _until_full(client, [sock, f"{host}:{port}"])
        for readings in snap.values():
            assert isinstance(readings, PowerReadings)
            assert sorted(readings.gpu_power_w) == [0, 1]
            assert all(99.0 <= w <= 601.0 for w in readings.gpu_power_w.values())
            assert readings.cpu_power_w == {}  # cpu-read is not enabled: skipped quietly
            assert abs(readings.timestamp_s - time.time()) < 3.0
        assert client.stream_errors() == {}
    finally:
        client.stop()


def test_snapshots_are_copies(daemons):
    _, sock = daemons("uds")
    client = PowerStreamingClient([ZeusdConfig.uds(sock)], reconnect_delay_s=0.2)
    try:
        _until_full(client, [sock])
        first = client.get_power()
        first[sock].gpu_power_w[0] = -1.0
        first[sock].gpu_power_w[7] = 1.0
        first[sock].cpu_power_w[0] = CpuPowerReading(1.0, None)
        again = client.get_power()
        assert again[sock].gpu_power_w[0] != -1.0
        assert 7 not in again[sock].gpu_power_w
        assert again[sock].cpu_power_w == {}
        assert first[sock] is not again[sock]
    finally:
        client.stop()


def test_clock_offset_is_applied(daemons):
    _, plain = daemons("uds", name="plain")
    _, shifted = daemons("uds", shift_ms=-3000, name="shifted")
    client = PowerStreamingClient([ZeusdConfig.uds(plain), ZeusdConfig.uds(shifted)],
                                  reconnect_delay_s=0.2)
    try:
        snap = _until_full(client, [plain, shifted])
        offsets = client.clock_offsets()
        assert abs(offsets[plain]) < 1.0
        assert abs(offsets[shifted] - 3.0) < 1.0  # the daemon is 3 s behind
        # both land on this machine's clock, so the max timestamp is comparable
        assert abs(snap[shifted].timestamp_s - time.time()) < 3.0
        assert abs(snap[shifted].timestamp_s - snap[plain].timestamp_s) < 3.0
    finally:
        client.stop()


def test_iterator_ends_promptly_on_stop(daemons):
    _, sock = daemons("uds")
    client = PowerStreamingClient([ZeusdConfig.uds(sock)], reconnect_delay_s=0.2)
    threading.Timer(0.5, client.stop).start()
    start = time.monotonic()
    results = list(client)
    assert time.monotonic() - start < 5.0
    assert all(isinstance(r, dict) for r in results)
    assert list(client) == []  # stays stopped


def test_async_iterator_yields_and_stops(daemons):
    _, sock = daemons("uds")
    client = PowerStreamingClient([ZeusdConfig.uds(sock)], reconnect_delay_s=0.2)

    async def first_two():
        got = []
        async for snap in client:
            got.append(snap)
            if len(got) == 2:
                break
        return got

    try:
        got = asyncio.run(first_two())
        assert len(got) == 2 and sock in got[1]
    finally:
        client.stop()

    async def after_stop():
        return [s async for s in client]

    assert asyncio.run(after_stop()) == []


def test_construction_checks(daemons, signing_key):
    key, issue = signing_key
    _, sock = daemons("uds")
    _, (host, port) = daemons("tcp", "--signing-key-path", str(key))
    with pytest.raises(ValueError, match="Duplicate"):
        PowerStreamingClient([ZeusdConfig.uds(sock), ZeusdConfig.uds(sock)])
    with pytest.raises(ValueError, match="GPU index 4"):
        PowerStreamingClient([ZeusdConfig.uds(sock, gpu_indices=[0, 4])])
    # the daemon lists no CPU package (no cpu-read): a listed one does not exist
    with pytest.raises(ValueError, match="CPU index 0"):
        PowerStreamingClient([ZeusdConfig.uds(sock, cpu_indices=[0])])
    with pytest.raises(ValueError):
        PowerStreamingClient([ZeusdConfig.tcp(host, port, token=issue("cpu-read"),
                                              gpu_indices=[9])])
    with pytest.raises(ZeusdCapabilityError, match="gpu-read"):
        PowerStreamingClient([ZeusdConfig.tcp(host, port, token=issue("cpu-read"),
                                              gpu_indices=[0])])
    with pytest.raises(ZeusdAuthError):
        PowerStreamingClient([ZeusdConfig.tcp(host, port, token="not-a-token")])
    # [] skips GPUs: nothing to stream, and the iterator ends at once
    client = PowerStreamingClient([ZeusdConfig.uds(sock, gpu_indices=[])])
    assert list(client) == []
    assert client.get_power() == {}


def test_reconnects_after_daemon_restart(daemons):
    proc, sock = daemons("uds", name="restart")
    client = PowerStreamingClient([ZeusdConfig.uds(sock)], reconnect_delay_s=0.2)
    try:
        _until_full(client, [sock])
        proc.kill()
        proc.wait()
        _wait(lambda: sock in client.stream_errors())
        time.sleep(0.5)
        restarted = time.time()
        daemons("uds", name="restart")
        _wait(lambda: client.get_power()[sock].timestamp_s > restarted)
    finally:
        client.stop()

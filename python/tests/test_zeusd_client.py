"""zeusc.utils.zeusd: Zeus's ZeusdConfig/ZeusdClient over http.client, against Zeus-C's own
zeusd (<build>/zeusd) serving the fake NVML on a Unix socket and on TCP."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest

from conftest import BUILD
from zeusc.device.exception import ZeusBaseGPUError, ZeusdError
from zeusc.utils.zeusd import (
    ZeusdCapabilityError,
    ZeusdClient,
    ZeusdConfig,
    ZeusdConnectionError,
    require_capabilities,
)

ZEUSD = BUILD / "zeusd"
pytestmark = pytest.mark.skipif(not ZEUSD.exists(), reason=f"no zeusd at {ZEUSD} (build it first)")


def _wait(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError("zeusd did not come up")


@pytest.fixture
def zeusd(tmp_path):
    """Start zeusd with the given extra arguments; stopped at teardown."""
    procs = []

    def start(*args):
        env = dict(os.environ, ZEUS_FAKE_NVML="gpus=2;power_w=300")
        p = subprocess.Popen([str(ZEUSD), "serve", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.terminate()
        p.wait(timeout=10)


def test_uds_client_reads_and_sets(zeusd, tmp_path):
    sock = tmp_path / "zeusd.sock"
    zeusd("--socket-path", str(sock), "--enable", "gpu-read,gpu-control")
    _wait(sock.exists)
    client = ZeusdClient(ZeusdConfig.uds(str(sock)))
    assert client.gpu_ids == [0, 1] and client.endpoint == str(sock)
    assert client.can_read_gpu and client.can_control_gpu and not client.can_read_cpu
    assert client.get_gpu_power().power_mw == {0: 300000, 1: 300000}
    client.set_power_limit([1], 250000)
    assert client.get_power_limit([1]) == {1: 250000}
    assert client.get_power_limit_constraints([0])[0][0] < 250000
    assert abs(client.get_time() - time.time()) < 5
    with pytest.raises(ZeusdError) as e:
        client.set_power_limit([0], 1)
    assert isinstance(e.value, ZeusBaseGPUError) and "set_power_limit" in e.value.message
    with pytest.raises(ZeusdCapabilityError, match="cpu-read"):
        require_capabilities(client, read_cpu=True)
    require_capabilities(client, read_gpu=True, gpu_ids=[0, 1])


def test_tcp_client_and_from_env(zeusd, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    zeusd("--mode", "tcp", "--tcp-bind-address", f"127.0.0.1:{port}", "--enable", "gpu-read")

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    _wait(up)
    monkeypatch.setenv("ZEUSD_HOST_PORT", f"127.0.0.1:{port}")
    monkeypatch.delenv("ZEUSD_SOCK_PATH", raising=False)
    config = ZeusdConfig.from_env()
    assert config == ZeusdConfig(host_port=f"127.0.0.1:{port}")
    client = ZeusdClient()
    assert len(client.gpus) == 2 and client.get_gpu_energy([0])[0] >= 0


def test_unreachable_daemon_is_a_connection_error(tmp_path, monkeypatch):
    with pytest.raises(ZeusdConnectionError, match="Cannot reach Zeusd"):
        ZeusdClient(ZeusdConfig.uds(str(tmp_path / "none.sock")))
    monkeypatch.delenv("ZEUSD_SOCK_PATH", raising=False)
    monkeypatch.delenv("ZEUSD_HOST_PORT", raising=False)
    assert ZeusdConfig.from_env() is None
    with pytest.raises(ZeusdConnectionError, match="No Zeusd connection configured"):
        ZeusdClient()

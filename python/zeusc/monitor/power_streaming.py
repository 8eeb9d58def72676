"""Zeus's ``zeus.monitor.power_streaming`` over Zeus-C: GPU and CPU power streamed from one or
more zeusd daemons (Server-Sent Events), merged per endpoint.

```python
from zeusc.utils.zeusd import ZeusdConfig
from zeusc.monitor.power_streaming import PowerStreamingClient

client = PowerStreamingClient(servers=[
    ZeusdConfig.tcp("node1", 4938, gpu_indices=[0, 1, 2, 3]),
    ZeusdConfig.uds("/var/run/zeusd.sock"),
])
readings = client.get_power()      # {"node1:4938": PowerReadings(...), ...}
for readings in client:            # blocks; one snapshot per update; ends on stop()
    ...
client.stop()
```

The streaming itself is C (zeus/power_stream.h, through zeusc._zeusc.PowerStreamHandle): one
thread per endpoint and device type, reconnect after ``reconnect_delay_s``, clock offset from
5 round trips to ``/time``. Differences from Zeus, each deliberate:

- A token the daemon refuses at construction raises ZeusdAuthError (Zeus quietly streams
  nothing); a token refused later (401/403 on reconnect) ends that endpoint's streams and
  ``stream_errors()`` says why, while the other endpoints go on (Zeus only logs it).
- Construction errors: a duplicate endpoint or an index the daemon lacks is ValueError (as in
  Zeus); a listed device type the token may not read is ZeusdCapabilityError (as in Zeus);
  an unreachable daemon is ZeusdConnectionError.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field

from zeusc import _zeusc
from zeusc.utils.zeusd import (
    ZeusdAuthError,
    ZeusdCapabilityError,
    ZeusdConfig,
    ZeusdConnectionError,
)

__all__ = ["CpuPowerReading", "PowerReadings", "PowerStreamingClient"]

# The blocking iterator's wait per round, as Zeus's condition wait.
_WAIT_S = 1.0


@dataclass
class CpuPowerReading:
    """Power of one CPU package: ``cpu_w`` in W, ``dram_w`` in W or None without DRAM."""

    cpu_w: float = 0.0
    dram_w: float | None = None


@dataclass
class PowerReadings:
    """The latest readings of one zeusd endpoint.

    Attributes:
        timestamp_s: Unix seconds (this machine's clock) of the newest device reading.
        gpu_power_w: GPU index -> W.
        cpu_power_w: CPU package index -> CpuPowerReading.
    """

    timestamp_s: float = 0.0
    gpu_power_w: dict[int, float] = field(default_factory=dict)
    cpu_power_w: dict[int, CpuPowerReading] = field(default_factory=dict)


def _token(server: ZeusdConfig) -> str | None:
    # Zeus's ZeusdConfig: the token, else ZEUSD_TOKEN.
    return server.token if server.token else os.environ.get("ZEUSD_TOKEN") or None


def _raise_open_error(exc: Exception) -> None:
    status = getattr(exc, "status_name", "")
    message = str(exc)
    if status in ("ERR_NOT_FOUND", "ERR_INVALID_ARGUMENT"):
        raise ValueError(message) from exc
    if status == "ERR_NO_PERMISSION" and "_indices listed" not in message:
        raise ZeusdAuthError(message) from exc
    if status in ("ERR_NO_PERMISSION", "ERR_NOT_SUPPORTED"):
        raise ZeusdCapabilityError(message) from exc
    if status == "ERR_IO":
        raise ZeusdConnectionError(message) from exc
    raise exc


class PowerStreamingClient:
    """Stream GPU and CPU power from zeusd endpoints (Zeus's class).

    Args:
        servers: One ZeusdConfig per daemon; its ``gpu_indices``/``cpu_indices`` choose the
            devices (None: all the token may read; []: none; a list: must exist and be
            readable).
        reconnect_delay_s: Seconds to wait before reconnecting a broken stream.
    """

    def __init__(self, servers: Sequence[ZeusdConfig], reconnect_delay_s: float = 1.0) -> None:
        self._servers = list(servers)
        self._reconnect_delay = reconnect_delay_s
        endpoints = [s.endpoint for s in self._servers]
        duplicates = sorted({e for e in endpoints if endpoints.count(e) > 1})
        if duplicates:
            raise ValueError(f"Duplicate server endpoints: {duplicates}")
        spec = [
            (s.socket_path, None if s.socket_path else s.host_port, _token(s),
             None if s.gpu_indices is None else list(s.gpu_indices),
             None if s.cpu_indices is None else list(s.cpu_indices))
            for s in self._servers
        ]
        try:
            self._handle = _zeusc.PowerStreamHandle(spec, float(reconnect_delay_s))
        except Exception as exc:  # the library's status decides Zeus's exception
            _raise_open_error(exc)
        self._seq = 0
        self._stopped = False

    def stop(self) -> None:
        """Stop every stream and wake blocked iterators; readings stay readable."""
        self._stopped = True
        self._handle.stop()

    def get_power(self) -> dict[str, PowerReadings]:
        """The latest readings of every endpoint that has reported (a fresh copy)."""
        out: dict[str, PowerReadings] = {}
        for endpoint, ts, gpus, cpus, *_ in self._handle.readings():
            if ts is None:
                continue
            out[endpoint] = PowerReadings(
                timestamp_s=ts,
                gpu_power_w=dict(gpus),
                cpu_power_w={i: CpuPowerReading(cpu_w=c, dram_w=d) for i, (c, d) in cpus.items()},
            )
        return out

    def stream_errors(self) -> dict[str, str]:
        """Zeus-C addition: endpoint -> the latest stream failure (a lost connection being
        retried, or the refusal that ended its streams); endpoints without one are absent."""
        return {r[0]: r[5] for r in self._handle.readings() if r[5]}

    def clock_offsets(self) -> dict[str, float]:
        """Zeus-C addition: endpoint -> seconds added to the daemon's timestamps."""
        return {r[0]: r[8] for r in self._handle.readings()}

    def _wait_for_update(self) -> bool:
        """Wait up to 1 s for an update; True when one came."""
        seq = self._handle.next(_WAIT_S, self._seq)
        if seq is None:
            return False
        if seq < 0:
            self._stopped = True
            return False
        self._seq = seq
        return True

    def __iter__(self) -> Iterator[dict[str, PowerReadings]]:
        """Yield a get_power() snapshot on every update until stop() (or every stream ended)."""
        while not self._stopped:
            if self._wait_for_update() and not self._stopped:
                yield self.get_power()

    async def __aiter__(self) -> AsyncIterator[dict[str, PowerReadings]]:
        """The async iterator: the same, waiting in an executor thread."""
        loop = asyncio.get_running_loop()
        while not self._stopped:
            notified = await loop.run_in_executor(None, self._wait_for_update)
            if notified and not self._stopped:
                yield self.get_power()

"""Zeus's zeusd client (zeus.utils.zeusd): ZeusdConfig and ZeusdClient, over the standard
library's http.client instead of httpx.

The same routes, parameters and bodies as Zeus's client, so it talks to Zeus's Rust zeusd
and to Zeus-C's (daemon/): a Unix socket (``ZeusdConfig.uds``, ``ZEUSD_SOCK_PATH``) or TCP
(``ZeusdConfig.tcp``, ``ZEUSD_HOST_PORT``), with ``ZEUSD_TOKEN`` sent as a bearer token.

    from zeusc.utils.zeusd import ZeusdClient, ZeusdConfig
    client = ZeusdClient(ZeusdConfig.uds(socket_path="/run/zeusd/zeusd.sock"))
    client.gpu_ids, client.get_gpu_power().power_mw

Departure from Zeus: ``make_client()`` returns this module's small HTTP client (``get``,
``post``, ``stream``), not an ``httpx.Client`` (httpx is not a dependency). Each request
opens its own connection, so one ZeusdClient may be shared between threads. zeusc's device
classes do not need this module: the C library forwards to zeusd by itself when
ZEUSD_SOCK_PATH or ZEUSD_HOST_PORT is set.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlencode

from zeusc.errors import ZeusBaseError, ZeusdError

logger = logging.getLogger(__name__)

__all__ = [
    "CpuDramPower",
    "CpuEnergyResult",
    "CpuInfo",
    "CpuPowerSnapshot",
    "GpuInfo",
    "GpuPowerSnapshot",
    "ZeusdAuthError",
    "ZeusdCapabilityError",
    "ZeusdClient",
    "ZeusdConfig",
    "ZeusdConnectionError",
    "require_capabilities",
]

#: Seconds one request may take (connect, send, answer).
DEFAULT_TIMEOUT_S = 30.0


class ZeusdConnectionError(ZeusBaseError):
    """Cannot reach the Zeusd daemon."""


class ZeusdAuthError(ZeusBaseError):
    """Authentication or authorization failure."""


class ZeusdCapabilityError(ZeusBaseError):
    """Requested capabilities exceed what the daemon offers."""


@dataclass(frozen=True)
class GpuInfo:
    """A GPU the daemon found: id (zeusd's index), name, PCI address, and whether
    /gpu/get_cumulative_energy serves it."""

    id: int
    name: str
    pci_address: str
    cumulative_energy_available: bool


@dataclass(frozen=True)
class CpuInfo:
    """A CPU package the daemon found: id (RAPL package index) and DRAM availability."""

    id: int
    dram_available: bool


@dataclass(frozen=True)
class GpuPowerSnapshot:
    """GPU power: daemon Unix time in ms, and {gpu: mW}."""

    timestamp_ms: int
    power_mw: dict[int, int]


@dataclass(frozen=True)
class CpuDramPower:
    """One package's power, mW (dram_mw None without DRAM)."""

    cpu_mw: int
    dram_mw: int | None


@dataclass(frozen=True)
class CpuPowerSnapshot:
    """CPU power: daemon Unix time in ms, and {cpu: CpuDramPower}."""

    timestamp_ms: int
    power_mw: dict[int, CpuDramPower]


@dataclass(frozen=True)
class CpuEnergyResult:
    """One package's cumulative energy, microjoules (None when not asked or absent)."""

    cpu_energy_uj: int | None
    dram_energy_uj: int | None


# ---- HTTP over TCP or a Unix socket ------------------------------------------------------------


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


@dataclass(frozen=True)
class Response:
    """An HTTP answer: status_code, text, json()."""

    status_code: int
    text: str

    def json(self):
        return json.loads(self.text)


class HTTPClient:
    """A minimal HTTP client bound to one zeusd (what make_client() returns)."""

    def __init__(self, config: ZeusdConfig, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self._config = config
        self.timeout = timeout
        self.headers = config._auth_headers()

    def _connection(self) -> http.client.HTTPConnection:
        if self._config.socket_path is not None:
            return _UnixHTTPConnection(self._config.socket_path, self.timeout)
        host, _, port = (self._config.host_port or "").rpartition(":")
        return http.client.HTTPConnection(host or "localhost", int(port), timeout=self.timeout)

    def request(self, method: str, url_or_path: str, params: dict[str, str] | None = None) -> Response:
        """Send one request; raises OSError (or http.client.HTTPException) when it fails."""
        path = url_or_path
        if path.startswith("http://"):
            path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
        if params:
            path += "?" + urlencode(params)
        conn = self._connection()
        try:
            conn.request(method, path, headers=self.headers)
            resp = conn.getresponse()
            return Response(resp.status, resp.read().decode("utf-8", "replace"))
        finally:
            conn.close()

    def get(self, url: str, params: dict[str, str] | None = None) -> Response:
        return self.request("GET", url, params)

    def post(self, url: str, params: dict[str, str] | None = None) -> Response:
        return self.request("POST", url, params)

    def close(self) -> None:
        """Nothing to release: every request has its own connection."""


# ---- Configuration -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ZeusdConfig:
    """How to reach a zeusd: ``tcp()``, ``uds()`` or ``from_env()``.

    Attributes:
        host_port: ``host:port`` (TCP), or None.
        socket_path: Unix socket path, or None.
        token: bearer token (``ZEUSD_TOKEN`` in from_env).
        gpu_indices, cpu_indices: devices to stream (power streaming; ignored here).
    """

    host_port: str | None = None
    socket_path: str | None = None
    token: str | None = None
    gpu_indices: list[int] | None = None
    cpu_indices: list[int] | None = None

    @classmethod
    def tcp(cls, host: str, port: int, *, token: str | None = None, gpu_indices=None, cpu_indices=None) -> ZeusdConfig:
        """A TCP connection to host:port."""
        return cls(host_port=f"{host}:{port}", token=token, gpu_indices=gpu_indices, cpu_indices=cpu_indices)

    @classmethod
    def uds(cls, socket_path: str, *, token: str | None = None, gpu_indices=None, cpu_indices=None) -> ZeusdConfig:
        """A Unix socket connection."""
        return cls(socket_path=socket_path, token=token, gpu_indices=gpu_indices, cpu_indices=cpu_indices)

    @classmethod
    def from_env(cls) -> ZeusdConfig | None:
        """ZEUSD_SOCK_PATH (first) or ZEUSD_HOST_PORT, with ZEUSD_TOKEN; None if neither."""
        token = os.environ.get("ZEUSD_TOKEN")
        sock = os.environ.get("ZEUSD_SOCK_PATH")
        if sock is not None:
            return cls.uds(socket_path=sock, token=token)
        host_port = os.environ.get("ZEUSD_HOST_PORT")
        if host_port is not None:
            return cls(host_port=host_port, token=token)
        return None

    @property
    def _is_uds(self) -> bool:
        return self.socket_path is not None

    def make_client(self) -> HTTPClient:
        """An HTTP client bound to this daemon (not an httpx.Client; see the module doc)."""
        return HTTPClient(self)

    def url(self, path: str) -> str:
        """The full URL of `path`."""
        if self._is_uds:
            return f"http://localhost{path}"
        return f"http://{self.host_port}{path}"

    @property
    def endpoint(self) -> str:
        """The socket path or host:port."""
        if self.socket_path is not None:
            return self.socket_path
        if self.host_port is not None:
            return self.host_port
        raise ValueError("ZeusdConfig has neither socket_path nor host_port set.")

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


# ---- Client ------------------------------------------------------------------------------------


def _ids(ids) -> str:
    return ",".join(str(i) for i in ids)


def _flag(value: bool) -> str:
    return "true" if value else "false"


class ZeusdClient:
    """A client of one zeusd: discovery and authentication at construction, then one method
    per endpoint (Zeus's class). Raises ZeusdConnectionError when the daemon is unreachable;
    failed requests raise ZeusdError (a ZeusBaseGPUError, as in Zeus)."""

    def __init__(self, config: ZeusdConfig | None = None) -> None:
        if config is None:
            config = ZeusdConfig.from_env()
            if config is None:
                raise ZeusdConnectionError(
                    "No Zeusd connection configured. Set ZEUSD_SOCK_PATH or ZEUSD_HOST_PORT, or pass a ZeusdConfig."
                )
        self._config = config
        self._client = config.make_client()
        resp = self._get_or_connection_error("/discover")
        if resp.status_code != 200:
            raise ZeusdConnectionError(
                f"Zeusd at {config.endpoint} returned HTTP {resp.status_code} on /discover: {resp.text}"
            )
        data = resp.json()
        try:
            self._gpus = [
                GpuInfo(
                    id=item["id"],
                    name=item["name"],
                    pci_address=item["pci_address"],
                    cumulative_energy_available=item["cumulative_energy_available"],
                )
                for item in data["gpus"]
            ]
        except KeyError as exc:
            raise ZeusdConnectionError(
                f"Zeusd at {config.endpoint} did not report {exc} in /discover; "
                "the daemon is older than this version of Zeus. Upgrade zeusd."
            ) from exc
        self._cpus = [CpuInfo(id=item["id"], dram_available=item["dram_available"]) for item in data["cpus"]]
        self._gpu_ids = [g.id for g in self._gpus]
        self._cpu_ids = [c.id for c in self._cpus]
        self._dram_available = [c.dram_available for c in self._cpus]
        self._enabled_api_groups: set[str] = set(data["enabled_api_groups"])
        self._auth_required: bool = data["auth_required"]
        self._auth_error: str | None = None
        self._granted_scopes: frozenset[str] = frozenset()
        self._whoami_sub: str | None = None
        self._whoami_exp: int | None = None
        if self._auth_required:
            self._authenticate()

    def _get_or_connection_error(self, path: str) -> Response:
        try:
            return self._client.get(self._config.url(path))
        except (OSError, http.client.HTTPException) as exc:
            raise ZeusdConnectionError(f"Cannot reach Zeusd at {self._config.endpoint}: {exc}") from exc

    def _authenticate(self) -> None:
        config = self._config
        if not config.token:
            self._auth_error = (
                f"Zeusd at {config.endpoint} requires authentication but no token was provided. "
                "Set the ZEUSD_TOKEN environment variable or pass token= in the config."
            )
        else:
            resp = self._get_or_connection_error("/auth/whoami")
            if resp.status_code == 401:
                self._auth_error = f"Token rejected by Zeusd at {config.endpoint}: {resp.text}"
            elif resp.status_code != 200:
                self._auth_error = (
                    f"Unexpected response from /auth/whoami at {config.endpoint} "
                    f"(HTTP {resp.status_code}): {resp.text}"
                )
            else:
                whoami = resp.json()
                self._granted_scopes = frozenset(whoami.get("scopes", []))
                self._whoami_sub = whoami.get("sub")
                self._whoami_exp = whoami.get("exp")
        if self._auth_error:
            logger.warning("Auth issue with Zeusd at %s: %s", config.endpoint, self._auth_error)

    # -- discovery --

    @property
    def endpoint(self) -> str:
        """The socket path or host:port."""
        return self._config.endpoint

    @property
    def gpus(self) -> list[GpuInfo]:
        return list(self._gpus)

    @property
    def gpu_ids(self) -> list[int]:
        return list(self._gpu_ids)

    @property
    def cpus(self) -> list[CpuInfo]:
        return list(self._cpus)

    @property
    def cpu_ids(self) -> list[int]:
        return list(self._cpu_ids)

    @property
    def dram_available(self) -> list[bool]:
        return list(self._dram_available)

    @property
    def auth_required(self) -> bool:
        return self._auth_required

    @property
    def auth_error(self) -> str | None:
        return self._auth_error

    @property
    def granted_scopes(self) -> frozenset[str]:
        return self._granted_scopes

    def _can(self, api_group: str, scope: str) -> bool:
        if api_group not in self._enabled_api_groups:
            return False
        return not (self._auth_required and scope not in self._granted_scopes)

    @property
    def can_read_gpu(self) -> bool:
        return self._can("gpu-read", "gpu-read")

    @property
    def can_control_gpu(self) -> bool:
        return self._can("gpu-control", "gpu-control")

    @property
    def can_read_cpu(self) -> bool:
        return self._can("cpu-read", "cpu-read")

    # -- requests --

    def _call(self, method: str, path: str, params: dict[str, str], operation: str) -> Response:
        try:
            resp = self._client.request(method, self._config.url(path), params)
        except (OSError, http.client.HTTPException) as exc:
            raise ZeusdError(f"Failed to {operation}: cannot reach Zeusd at {self.endpoint}: {exc}") from exc
        self._check(resp, operation)
        return resp

    @staticmethod
    def _opt_ids(name: str, ids) -> dict[str, str]:
        return {} if ids is None else {name: _ids(ids)}

    def get_gpu_energy(self, gpu_ids: list[int]) -> dict[int, int]:
        """Cumulative energy per GPU, mJ."""
        data = self._call("GET", "/gpu/get_cumulative_energy", {"gpu_ids": _ids(gpu_ids)}, "get_gpu_energy").json()
        return {int(k): v["energy_mj"] for k, v in data.items()}

    def get_gpu_power(self, gpu_ids: list[int] | None = None) -> GpuPowerSnapshot:
        """Instantaneous GPU power, mW (None: every GPU)."""
        data = self._call("GET", "/gpu/get_power", self._opt_ids("gpu_ids", gpu_ids), "get_gpu_power").json()
        return GpuPowerSnapshot(timestamp_ms=data["timestamp_ms"], power_mw={int(k): v for k, v in data["power_mw"].items()})

    def set_power_limit(self, gpu_ids: list[int], power_limit_mw: int, block: bool = True) -> None:
        """Set the power limit of `gpu_ids`, mW."""
        params = {"gpu_ids": _ids(gpu_ids), "power_limit_mw": str(power_limit_mw), "block": _flag(block)}
        self._call("POST", "/gpu/set_power_limit", params, "set_power_limit")

    def set_persistence_mode(self, gpu_ids: list[int], enabled: bool, block: bool = True) -> None:
        """Turn persistence mode on or off."""
        params = {"gpu_ids": _ids(gpu_ids), "enabled": _flag(enabled), "block": _flag(block)}
        self._call("POST", "/gpu/set_persistence_mode", params, "set_persistence_mode")

    def get_persistence_mode(self, gpu_ids: list[int] | None = None) -> dict[int, bool]:
        """{gpu: enabled}."""
        data = self._call(
            "GET", "/gpu/get_persistence_mode", self._opt_ids("gpu_ids", gpu_ids), "get_persistence_mode"
        ).json()
        return {int(k): v["enabled"] for k, v in data.items()}

    def get_power_limit(self, gpu_ids: list[int] | None = None) -> dict[int, int]:
        """{gpu: power limit, mW}."""
        data = self._call("GET", "/gpu/get_power_limit", self._opt_ids("gpu_ids", gpu_ids), "get_power_limit").json()
        return {int(k): v["power_limit_mw"] for k, v in data.items()}

    def get_power_limit_constraints(self, gpu_ids: list[int] | None = None) -> dict[int, tuple[int, int]]:
        """{gpu: (min_mw, max_mw)}."""
        data = self._call(
            "GET",
            "/gpu/get_power_limit_constraints",
            self._opt_ids("gpu_ids", gpu_ids),
            "get_power_limit_constraints",
        ).json()
        return {int(k): (v["min_power_limit_mw"], v["max_power_limit_mw"]) for k, v in data.items()}

    def set_gpu_locked_clocks(self, gpu_ids: list[int], min_clock_mhz: int, max_clock_mhz: int, block: bool = True) -> None:
        """Lock the graphics clock to [min, max] MHz."""
        params = {
            "gpu_ids": _ids(gpu_ids),
            "min_clock_mhz": str(min_clock_mhz),
            "max_clock_mhz": str(max_clock_mhz),
            "block": _flag(block),
        }
        self._call("POST", "/gpu/set_gpu_locked_clocks", params, "set_gpu_locked_clocks")

    def reset_gpu_locked_clocks(self, gpu_ids: list[int], block: bool = True) -> None:
        """Unlock the graphics clock."""
        self._call("POST", "/gpu/reset_gpu_locked_clocks", {"gpu_ids": _ids(gpu_ids), "block": _flag(block)}, "reset_gpu_locked_clocks")

    def reset_locked_clocks(self, gpu_ids: list[int], block: bool = True) -> None:
        """Unlock the graphics and memory clocks."""
        self._call("POST", "/gpu/reset_locked_clocks", {"gpu_ids": _ids(gpu_ids), "block": _flag(block)}, "reset_locked_clocks")

    def set_mem_locked_clocks(self, gpu_ids: list[int], min_clock_mhz: int, max_clock_mhz: int, block: bool = True) -> None:
        """Lock the memory clock to [min, max] MHz."""
        params = {
            "gpu_ids": _ids(gpu_ids),
            "min_clock_mhz": str(min_clock_mhz),
            "max_clock_mhz": str(max_clock_mhz),
            "block": _flag(block),
        }
        self._call("POST", "/gpu/set_mem_locked_clocks", params, "set_mem_locked_clocks")

    def reset_mem_locked_clocks(self, gpu_ids: list[int], block: bool = True) -> None:
        """Unlock the memory clock."""
        self._call("POST", "/gpu/reset_mem_locked_clocks", {"gpu_ids": _ids(gpu_ids), "block": _flag(block)}, "reset_mem_locked_clocks")

    def get_cpu_energy(self, cpu_ids: list[int] | None = None, cpu: bool = True, dram: bool = True) -> dict[int, CpuEnergyResult]:
        """Cumulative energy per CPU package, microjoules."""
        params = {"cpu": _flag(cpu), "dram": _flag(dram), **self._opt_ids("cpu_ids", cpu_ids)}
        data = self._call("GET", "/cpu/get_cumulative_energy", params, "get_cpu_energy").json()
        return {
            int(k): CpuEnergyResult(cpu_energy_uj=v.get("cpu_energy_uj"), dram_energy_uj=v.get("dram_energy_uj"))
            for k, v in data.items()
        }

    def get_cpu_power(self, cpu_ids: list[int] | None = None) -> CpuPowerSnapshot:
        """Instantaneous CPU package and DRAM power, mW."""
        data = self._call("GET", "/cpu/get_power", self._opt_ids("cpu_ids", cpu_ids), "get_cpu_power").json()
        return CpuPowerSnapshot(
            timestamp_ms=data["timestamp_ms"],
            power_mw={int(k): CpuDramPower(cpu_mw=v["cpu_mw"], dram_mw=v.get("dram_mw")) for k, v in data["power_mw"].items()},
        )

    def get_time(self) -> float:
        """The daemon's Unix time, seconds."""
        return self._call("GET", "/time", {}, "get_time").json()["timestamp_ms"] / 1000.0

    def make_client(self) -> HTTPClient:
        """A new HTTP client bound to this daemon (for streaming)."""
        return self._config.make_client()

    def url(self, path: str) -> str:
        """The full URL of `path`."""
        return self._config.url(path)

    @staticmethod
    def _check(resp: Response, operation: str) -> None:
        """Raise ZeusdError unless the answer is 200."""
        if resp.status_code != 200:
            raise ZeusdError(f"Failed to {operation}: {resp.text}")


def require_capabilities(
    client: ZeusdClient,
    *,
    read_gpu: bool = False,
    control_gpu: bool = False,
    read_cpu: bool = False,
    gpu_ids: list[int] | None = None,
    cpu_ids: list[int] | None = None,
) -> None:
    """Fail fast unless the daemon offers what the caller needs (API groups, scopes,
    devices). Raises ZeusdAuthError or ZeusdCapabilityError."""
    if client.auth_error:
        raise ZeusdAuthError(client.auth_error)
    errors: list[str] = []
    for wanted, can, scope in (
        (read_gpu, client.can_read_gpu, "gpu-read"),
        (control_gpu, client.can_control_gpu, "gpu-control"),
        (read_cpu, client.can_read_cpu, "cpu-read"),
    ):
        if wanted and not can:
            errors.append(_capability_reason(client, scope))
    for what, wanted_ids, available in (("GPU", gpu_ids, client.gpu_ids), ("CPU", cpu_ids, client.cpu_ids)):
        if wanted_ids is not None:
            missing = set(wanted_ids) - set(available)
            if missing:
                errors.append(f"{what} indices {sorted(missing)} not available (available: {sorted(available)})")
    if errors:
        raise ZeusdCapabilityError(f"Zeusd at {client.endpoint}: " + "; ".join(errors))


def _capability_reason(client: ZeusdClient, scope: str) -> str:
    if scope not in client._enabled_api_groups:
        return f"API group '{scope}' is not enabled on this server"
    if client.auth_required and scope not in client.granted_scopes:
        return f"Token lacks required scope '{scope}' (granted: {sorted(client.granted_scopes)})"
    return f"'{scope}' is not available"

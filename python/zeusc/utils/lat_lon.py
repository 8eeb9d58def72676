"""Zeus's zeus.utils.lat_lon: the latitude and longitude of this machine's public IP."""

from __future__ import annotations

import json
import logging
import os
import urllib.request

logger = logging.getLogger(__name__)

__all__ = ["get_ip_lat_long"]


def get_ip_lat_long() -> tuple[float, float]:
    """Retrieve the latitude and longitude of the current IP position (ipinfo.io's "loc").

    ``ZEUS_IPINFO_URL`` replaces ``http://ipinfo.io/json`` (tests, proxies). A failed request
    raises the OSError urllib raised (Zeus re-raises requests' exception), a reply without
    "loc" a KeyError, as in Zeus.
    """
    ip_url = os.environ.get("ZEUS_IPINFO_URL") or "http://ipinfo.io/json"
    try:
        with urllib.request.urlopen(ip_url, timeout=10) as resp:
            loc = json.loads(resp.read(1 << 20).decode("utf-8", "replace"))["loc"]
        lat, long = map(float, loc.split(","))
        logger.info("Retrieved latitude and longitude: %s, %s", lat, long)
        return lat, long
    except OSError as e:
        logger.exception("Failed to retrieve current latitude and longitude of IP: %s", e)
        raise

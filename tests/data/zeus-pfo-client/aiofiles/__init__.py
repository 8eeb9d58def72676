"""Shim (not aiofiles): Zeus's common.py imports aiofiles for the server's dumps, which the
client never writes."""


def open(*args, **kwargs):  # noqa: A001
    raise RuntimeError("aiofiles shim: the client does not write files")

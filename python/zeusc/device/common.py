"""Helpers shared by zeusc.device (Zeus's zeus.device.common): the SYS_ADMIN check and the
camelCase alias machinery of Zeus's GPU and CPU classes.

``deprecated_alias`` and ``DeprecatedAliasABCMeta`` follow Zeus (Apache-2.0): a method marked
``@deprecated_alias("getName")`` also answers to ``getName``, which warns once with a
DeprecationWarning and calls the snake_case method.
"""

from __future__ import annotations

import abc
import functools
import logging
import warnings
from functools import lru_cache
from typing import Callable

logger = logging.getLogger(__name__)

__all__ = ["DeprecatedAliasABCMeta", "deprecated_alias", "has_sys_admin"]


@lru_cache(maxsize=1)
def has_sys_admin() -> bool:
    """Whether this process has the SYS_ADMIN capability (bit 21 of CapEff)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff"):
                    return bool(int(line.split()[1], 16) & (1 << 21))
    except OSError:
        logger.info("Failed to read capabilities from /proc/self/status", exc_info=True)
    return False


def deprecated_alias(old_name: str) -> Callable[[Callable], Callable]:
    """Mark a snake_case method as also reachable under its old camelCase name."""

    def decorator(func):
        func._deprecated_alias = old_name
        return func

    return decorator


def _make_deprecated_method(old_name: str, new_name: str, new_method: Callable) -> Callable:
    warned = [False]

    @functools.wraps(new_method)
    def deprecated_method(self, *args, **kwargs):
        if not warned[0]:
            warnings.warn(
                f"'{old_name}' is deprecated and will be removed in a future version. Use '{new_name}' instead.",
                DeprecationWarning,
                stacklevel=2,
            )
            warned[0] = True
        return getattr(self, new_name)(*args, **kwargs)

    for attr in ("_deprecated_alias", "__isabstractmethod__"):
        if attr in deprecated_method.__dict__:
            delattr(deprecated_method, attr)
    return deprecated_method


class DeprecatedAliasABCMeta(abc.ABCMeta):
    """ABCMeta that adds the camelCase alias of every ``@deprecated_alias`` method."""

    def __new__(mcs, name, bases, namespace, **kwargs):
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        for attr_name in dir(cls):
            if attr_name.startswith("_"):
                continue
            attr = getattr(cls, attr_name, None)
            old_name = getattr(attr, "_deprecated_alias", None)
            if isinstance(old_name, str):
                setattr(cls, old_name, _make_deprecated_method(old_name, attr_name, attr))
        return cls

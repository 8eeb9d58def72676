"""Reference counting, memory, threads and the GIL.

Reference counts are checked with sys.getrefcount around many calls; memory with the
process's resident size around many windows (the C side allocates with malloc, which
tracemalloc does not see). Threads share one monitor, as the library allows.
"""

from __future__ import annotations

import gc
import sys
import threading
import time

import pytest

import zeusc
from zeusc import ZeusMonitor

pytestmark = pytest.mark.filterwarnings("ignore:The energy consumption:zeusc.errors.ZeusWarning")


def noop(gpus):
    return None


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import resource

    return pages * resource.getpagesize() // 1024


def _cycle(mon, key, n):
    for _ in range(n):
        mon.begin_window(key, False)
        m = mon.end_window(key, False)
        del m
    try:
        mon.end_window(key)
    except ValueError:
        pass
    mon.begin_window(key)
    try:
        mon.begin_window(key)
    except ValueError:
        pass
    mon.end_window(key, cancel=True)


@pytest.mark.parametrize("direct", [False, True])
def test_refcounts_are_stable(direct):
    mon = ZeusMonitor(sync_execution_with=noop, direct_reads=direct)
    key = "refcount-key-" + "x" * 8  # not interned by accident
    _cycle(mon, key, 100)  # warm-up: caches, warning registries
    gc.collect()
    before = (sys.getrefcount(mon), sys.getrefcount(key))
    _cycle(mon, key, 2000)
    gc.collect()
    after = (sys.getrefcount(mon), sys.getrefcount(key))
    assert after == before


def _refs_of_fields(m):
    return sys.getrefcount(m), sys.getrefcount(m.gpu_energy), [sys.getrefcount(v) for v in m.gpu_energy.values()]


def test_measurement_holds_only_its_own_references():
    mon = ZeusMonitor(sync_execution_with=noop)
    mon.begin_window("w")
    built_in_c = _refs_of_fields(mon.end_window("w"))
    built_in_python = _refs_of_fields(zeusc.Measurement(1.0, {0: float("1.5"), 1: float("2.5")}))
    assert built_in_c == built_in_python


def test_monitor_is_freed_and_collectable():
    import weakref

    mon = ZeusMonitor(sync_execution_with=noop)
    ref = weakref.ref(mon)
    del mon
    assert ref() is None

    # A sync callable that refers back to the monitor makes a cycle the GC must break.
    holder = {}
    mon = ZeusMonitor(sync_execution_with=lambda g: holder["m"])
    holder["m"] = mon
    ref = weakref.ref(mon)
    del mon, holder
    gc.collect()
    assert ref() is None


def _windows(mon, n, chunk=10000):
    # Sampled windows wait ~100 ms for the counter's next update before the library lets go
    # of them, so a tight loop holds every window of the last 100 ms. Waiting for the last
    # one of each chunk bounds that, making the heap's high-water mark the same every round.
    for _ in range(n // chunk):
        for _ in range(chunk):
            mon.begin_window("w", False)
            last = mon.end_window("w", False)
        mon.get_final(last, timeout=2.0)
    gc.collect()


def test_no_memory_growth_over_many_windows():
    mon = ZeusMonitor(sync_execution_with=noop)
    _windows(mon, 50000)  # warm up: the heap grows to its working size once
    start = rss_kib()
    _windows(mon, 100000)
    _windows(mon, 100000)
    assert rss_kib() - start < 4096, "more than 4 MiB kept over 200k windows"


def test_errors_do_not_leak():
    mon = ZeusMonitor(sync_execution_with=noop)
    gc.collect()
    start = rss_kib()
    for _ in range(50000):
        try:
            mon.end_window("missing")
        except ValueError:
            pass
    gc.collect()
    assert rss_kib() - start < 4096


@pytest.mark.parametrize("direct", [False, True])
def test_threads_share_one_monitor(direct):
    mon = ZeusMonitor(sync_execution_with=noop, direct_reads=direct)
    errors: list = []
    results: list = []

    def work(t: int) -> None:
        try:
            for i in range(300):
                key = f"t{t}-{i}"
                mon.begin_window(key)
                results.append(mon.end_window(key))
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(results) == 8 * 300
    assert mon.open_window_count() == 0


def test_racing_on_one_name_gives_one_winner():
    mon = ZeusMonitor(sync_execution_with=noop, direct_reads=True)
    for _ in range(50):
        outcomes: list = []
        barrier = threading.Barrier(6)

        def racer() -> None:
            barrier.wait()
            try:
                mon.begin_window("same")
                outcomes.append("ok")
            except zeusc.ZeusWindowExistsError:
                outcomes.append("exists")

        threads = [threading.Thread(target=racer) for _ in range(6)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert outcomes.count("ok") == 1 and outcomes.count("exists") == 5
        mon.end_window("same")


def test_gil_is_released_while_waiting_for_final_values():
    mon = ZeusMonitor(sync_execution_with=noop)
    mon.begin_window("w")
    m = mon.end_window("w")
    done = threading.Event()

    def waiter() -> None:
        mon.get_final(m, timeout=2.0)  # waits for the counter's next update (~100 ms)
        done.set()

    th = threading.Thread(target=waiter)
    spins = 0
    th.start()
    while not done.is_set():
        spins += 1
    th.join()
    # Had the waiter held the GIL, this thread could not have run while it waited.
    assert spins > 100


def test_sync_callbacks_from_many_threads():
    seen = []
    lock = threading.Lock()

    def sync(gpus):
        with lock:
            seen.append(threading.current_thread().name)

    mon = ZeusMonitor(sync_execution_with=sync)

    def work(t: int) -> None:
        for i in range(50):
            mon.begin_window(f"{t}-{i}")
            mon.end_window(f"{t}-{i}")

    threads = [threading.Thread(target=work, args=(t,), name=f"worker-{t}") for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(seen) == 4 * 50 * 2
    assert set(seen) == {f"worker-{t}" for t in range(4)}  # each caller's own thread


def test_close_waits_for_calls_in_flight():
    mon = ZeusMonitor(sync_execution_with=noop)
    mon.begin_window("w")
    m = mon.end_window("w")
    errors: list = []

    def waiter() -> None:
        try:
            mon.get_final(m, timeout=2.0)
        except BaseException as e:
            errors.append(e)

    th = threading.Thread(target=waiter)
    th.start()
    time.sleep(0.01)
    mon.close()  # must not free the monitor under the waiting thread
    th.join()
    assert errors == [] or all(isinstance(e, zeusc.ZeusError) for e in errors)
    assert mon.closed

"""zeusc.optimizer.pipeline_frequency: Zeus's PipelineFrequencyOptimizer over libzeus, against
`zeus pfo-server` on the fake NVML. Two ranks (threads) with explicit job ids run lowtime's
2-stage plan, and the SM clock locks the fake records on each GPU follow the plan, which the
test reads with ast.literal_eval (independently of the server's parser); Zeus's
RuntimeErrors for schedule mismatches and server errors; the lazy torch import."""

from __future__ import annotations

import ast
import ctypes
import importlib.util
import threading

import pytest

from pfo_support import PLAN, PfoServer
from zeusc.optimizer.pipeline_frequency import PipelineFrequencyOptimizer, register_job


@pytest.fixture
def server(tmp_path):
    s = PfoServer(PLAN, tmp_path)
    yield s
    s.stop()


def clock_log(fake) -> list[tuple[int, str, int, int]]:
    lib = fake.lib
    lib.fake_nvml_clock_log.restype = ctypes.c_size_t
    n = lib.fake_nvml_clock_log(None, None, None, None, 0)
    gpu, lo, hi = (ctypes.c_uint * n)(), (ctypes.c_uint * n)(), (ctypes.c_uint * n)()
    kind = ctypes.create_string_buffer(n)
    lib.fake_nvml_clock_log(gpu, kind, lo, hi, ctypes.c_size_t(n))
    return [(gpu[i], kind.raw[i : i + 1].decode(), lo[i], hi[i]) for i in range(n)]


def run_rank(url: str, job_id: str, rank: int, out: dict, iterations: int) -> None:
    try:
        pfo = PipelineFrequencyOptimizer(rank, 0, rank, 0, rank, 1, 2, 1, 2, url, job_id=job_id)
        out[rank] = pfo
        for _ in range(iterations):
            pfo.on_step_begin()
            for name, _mhz in pfo.freq_schedule:
                pfo.on_instruction_begin(name)
                pfo.on_instruction_end(name)
            pfo.on_step_end()
    except Exception as e:  # noqa: BLE001 (reported by the test thread)
        out[f"error{rank}"] = e


def start_two_ranks(server, iterations: int) -> dict:
    job_id = register_job(server.url, 1, 2, 1, 2, "zeusc-test")
    assert job_id.endswith("+dp1+pp2+tp1+PointSolution+zeusc-test")
    out: dict = {}
    threads = [threading.Thread(target=run_rank, args=(server.url, job_id, r, out, iterations)) for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for r in range(2):
        if f"error{r}" in out:
            raise out[f"error{r}"]
    return out


def test_two_ranks_lock_clocks_as_planned(fake, server):
    fake.reset("gpus=2")
    plan = ast.literal_eval(PLAN.read_text())
    ranks = start_two_ranks(server, iterations=2)
    for r in range(2):
        assert ranks[r].freq_schedule == [tuple(e) for e in plan[r]]
        ranks[r].close()
        ranks[r].close()  # idempotent
    log = clock_log(fake)
    for r in range(2):
        want = [("M", 2619, 2619), ("G", 1980, 1980)]
        current = 1980
        for _ in range(2):
            for _name, mhz in plan[r]:
                if mhz and mhz != current:
                    want.append(("G", mhz, mhz))
                    current = mhz
        want += [("g", 0, 0), ("m", 0, 0)]
        assert [(k, lo, hi) for g, k, lo, hi in log if g == r] == want


def test_schedule_mismatches_are_runtime_errors(fake, server):
    fake.reset("gpus=2")
    ranks = start_two_ranks(server, iterations=0)
    pfo = ranks[0]
    with pytest.raises(RuntimeError, match="The next expected instruction is forward, not backward"):
        pfo.on_instruction_begin("backward")
    pfo.on_instruction_begin("forward")
    with pytest.raises(RuntimeError, match="more frequencies than expected"):
        pfo.on_step_end()
    for name, _ in pfo.freq_schedule[1:]:
        pfo.on_instruction_begin(name)
    with pytest.raises(RuntimeError, match="fewer frequencies than expected"):
        pfo.on_instruction_begin("forward")
    pfo.on_step_end()
    for r in range(2):
        ranks[r].close()


def test_unknown_job_is_a_runtime_error(fake, server):
    fake.reset("gpus=2")
    with pytest.raises(RuntimeError, match="PFO server returned status code 404"):
        PipelineFrequencyOptimizer(0, 0, 0, 0, 0, 1, 2, 1, 2, server.url, job_id="nope")


def test_unreachable_server_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="cannot reach the PFO server"):
        register_job("http://127.0.0.1:9", 1, 1, 1, 1)


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="PyTorch is installed")
def test_without_torch_needs_an_explicit_job_id(fake, server):
    with pytest.raises(RuntimeError, match="pass job_id= to every rank"):
        PipelineFrequencyOptimizer(0, 0, 0, 0, 0, 1, 2, 1, 2, server.url)

"""Zeus's own PipelineFrequencyOptimizer, unchanged (tests/data/zeus-pfo-client: httpx,
pydantic v1, its multiprocessing frequency controller), against `zeus pfo-server`: two ranks,
each a child Python with Zeus's copy first on the path, register the job (rank 0, the id shared
through the torch.distributed shim), register themselves, fetch their schedules (which block
until both asked) and run two iterations with Zeus's on_instruction_begin / on_step_end
checks; then Zeus's errors for a wrong instruction and an unknown job (our 404, which Zeus's
client reports as "PFO server returned status code 404").

Zeus's controller process locks the clocks of its own copy of the fake NVML, which this test
cannot see; test_pipeline_frequency.py checks the locks of zeusc's client instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from bso_support import ROOT
from pfo_support import PLAN, PfoServer

ZEUS_COPY = ROOT / "tests" / "data" / "zeus-pfo-client"

CHILD = textwrap.dedent(
    """
    import ast, sys
    from zeus.optimizer.pipeline_frequency import PipelineFrequencyOptimizer

    url, rank, plan_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    plan = ast.literal_eval(open(plan_path).read())
    pfo = PipelineFrequencyOptimizer(rank=rank, dp_rank=0, pp_rank=rank, tp_rank=0,
        device_id=rank, dp_degree=1, pp_degree=2, tp_degree=1, world_size=2,
        server_url=url, job_metadata="zeus-client")
    assert pfo.job_id.endswith("+dp1+pp2+tp1+PointSolution+zeus-client"), pfo.job_id
    assert [tuple(e) for e in pfo.freq_schedule] == [tuple(e) for e in plan[rank]]
    for _ in range(2):
        pfo.on_step_begin()
        for name, _ in pfo.freq_schedule:
            pfo.on_instruction_begin(name)
            pfo.on_instruction_end(name)
        pfo.on_step_end()
    try:
        pfo.on_instruction_begin("backward")
        raise SystemExit("a wrong instruction was accepted")
    except RuntimeError as e:
        assert "next expected instruction" in str(e), e
    pfo.frequency_controller.end()
    pfo.frequency_controller._proc.join(30)
    print("rank", rank, "ok", pfo.job_id)
    """
)

UNKNOWN = textwrap.dedent(
    """
    import sys
    from zeus.optimizer.pipeline_frequency import PipelineFrequencyOptimizer

    # rank 1 with a job id no server has: the broadcast shim hands it over
    try:
        PipelineFrequencyOptimizer(rank=1, dp_rank=0, pp_rank=1, tp_rank=0, device_id=1,
            dp_degree=1, pp_degree=2, tp_degree=1, world_size=2, server_url=sys.argv[1])
        raise SystemExit("an unknown job was accepted")
    except RuntimeError as e:
        assert "PFO server returned status code 404" in str(e), e
        assert "Unknown job id" in str(e), e
    print("unknown ok")
    """
)


def _zeus_client_importable() -> str | None:
    try:
        import httpx  # noqa: F401, PLC0415
        import pandas  # noqa: F401, PLC0415
    except ImportError as e:
        return f"{e.name} is not importable (Zeus's client needs httpx and pandas)"
    try:
        import pydantic.v1  # noqa: F401, PLC0415
    except ImportError:
        try:
            import pydantic  # noqa: PLC0415

            if not pydantic.VERSION.startswith("1."):
                return f"pydantic {pydantic.VERSION} has no v1 API"
        except ImportError:
            return "pydantic is not importable (apt install python3-pydantic)"
    return None


@pytest.fixture
def child_env(fake, tmp_path):
    fake.reset("gpus=2")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ZEUS_COPY), str(ROOT / "python")])
    env["ZEUS_FAKE_NVML"] = "gpus=2"
    env["ZEUS_SYSFS_ROOT"] = str(tmp_path / "no-sysfs")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["ZEUS_TEST_BROADCAST_FILE"] = str(tmp_path / "job-id.json")
    return env


def test_zeus_client_against_zeus_pfo_server(tmp_path, child_env):
    why = _zeus_client_importable()
    if why is not None:
        pytest.skip(why)
    server = PfoServer(PLAN, tmp_path)
    try:
        ranks = [
            subprocess.Popen([sys.executable, "-c", CHILD, server.url, str(r), str(PLAN)],
                             env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for r in range(2)
        ]
        outs = [p.communicate(timeout=120) for p in ranks]
        for r, (p, (out, err)) in enumerate(zip(ranks, outs)):
            assert p.returncode == 0, f"rank {r} failed:\nstdout:\n{out}\nstderr:\n{err}"
            assert out.startswith(f"rank {r} ok "), out
            assert "Traceback" not in err, err  # the controller process did not fail either
        ids = {out.split()[-1] for out, _ in outs}
        assert len(ids) == 1

        env = dict(child_env, ZEUS_TEST_BROADCAST_FILE=str(tmp_path / "unknown-id.json"))
        (tmp_path / "unknown-id.json").write_text('["2020-01-01-00-00-00+dp1+pp2+tp1+PointSolution"]')
        r = subprocess.run([sys.executable, "-c", UNKNOWN, server.url], env=env, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}"
        assert r.stdout.split() == ["unknown", "ok"]
    finally:
        server.stop()

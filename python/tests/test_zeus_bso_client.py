"""Zeus's own batch size optimizer client, unchanged (tests/data/zeus-bso-client: httpx and
pydantic v1), against `zeus bso-server`: Zeus's test_client.py cases (register, predict,
report with early stop and convergence failure, the distributed ranks) and the end-trial
PATCH its atexit hook sends.

Zeus's client runs in a child Python whose `zeus` package is the copied one, over zeusc's
devices and the fake NVML (four Tesla V100s, 300 W maximum), so nothing here mixes with
zeusc's own modules. The monitor is a stub that, as Zeus's test's mock, returns Zeus's
measured epoch.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from bso_support import ROOT, V100_SPEC, BsoServer

ZEUS_COPY = ROOT / "tests" / "data" / "zeus-bso-client"

CHILD = textwrap.dedent(
    """
    import sys
    import pytest
    from zeusc.monitor import Measurement
    from zeus.optimizer.batch_size.client import BatchSizeOptimizer
    from zeus.optimizer.batch_size.common import JobSpec
    from zeus.optimizer.batch_size.exceptions import ZeusBSOBadOperationError, ZeusBSOTrainFailError

    URL = sys.argv[1]

    class StubMonitor:  # Zeus's test: MagicMock(spec=ZeusMonitor) with this end_window
        gpu_indices = [0, 1, 2, 3]
        def begin_window(self, key): pass
        def end_window(self, key):
            return Measurement(time=37.24807469360, gpu_energy={0: 4264.87199999392,
                1: 4367.186999991536, 2: 4342.869000002742, 3: 4158.034000009298})

    def fake_job(job_id):
        return {"job_id": job_id, "job_id_prefix": "test", "seed": 1, "default_batch_size": 1024,
                "batch_sizes": [32, 64, 256, 512, 1024, 4096, 2048], "eta_knob": 0.5,
                "beta_knob": 2, "target_metric": 0.5, "higher_is_better_metric": True,
                "max_epochs": 100, "num_pruning_rounds": 2, "window_size": 5,
                "mab_prior_mean": 0, "mab_prior_precision": 0, "mab_seed": 123456,
                "mab_num_explorations": 2}

    mon = StubMonitor()

    # test_register_job
    job = JobSpec.parse_obj(fake_job("test_register_job"))
    c = BatchSizeOptimizer(mon, URL, job)
    assert c.job.max_power == 300 * len(mon.gpu_indices), c.job.max_power
    assert c.job.gpu_model == "Tesla V100" and c.job.number_of_gpus == 4
    c = BatchSizeOptimizer(mon, URL, job)
    assert c.job.max_power == 300 * len(mon.gpu_indices)
    print("register ok")

    # test_batch_sizes
    job = JobSpec.parse_obj(fake_job("test_batch_sizes"))
    c = BatchSizeOptimizer(mon, URL, job)
    assert c.get_batch_size() == 1024 and c.current_batch_size == 1024
    c.on_train_begin()
    c.on_evaluate(0.1); c.on_evaluate(0.2); c.on_evaluate(0.6)  # converged
    c = BatchSizeOptimizer(mon, URL, job)
    bs = c.get_batch_size(); c.on_train_begin()
    assert bs == 512 and c.current_batch_size == 512, bs
    with pytest.raises(ZeusBSOTrainFailError) as e:
        for i in range(job.max_epochs - 10):
            c.on_evaluate(0.3)
            assert i + 1 == c.cur_epoch
    assert "cost upper bound" in str(e.value), str(e.value)
    c = BatchSizeOptimizer(mon, URL, job)
    bs = c.get_batch_size(); c.on_train_begin()
    assert bs == 2048, bs
    print("batch sizes ok")

    # test_converge_fail
    job = JobSpec.parse_obj(fake_job("test_converge_fail"))
    job.beta_knob = None
    c = BatchSizeOptimizer(mon, URL, job)
    c.on_train_begin()
    assert c.get_batch_size() == 1024
    with pytest.raises(ZeusBSOTrainFailError) as e:
        for i in range(job.max_epochs + 10):
            c.on_evaluate(0.3)
    assert "Train failed to converge within max_epoch" in str(e.value), str(e.value)
    assert c.cur_epoch == job.max_epochs
    c = BatchSizeOptimizer(mon, URL, job)
    assert c.get_batch_size() == 2048
    print("converge fail ok")

    # test_distributed_setting
    job = JobSpec.parse_obj(fake_job("test_distributed_setting"))
    clients = [BatchSizeOptimizer(mon, URL, job, rank=i) for i in range(4)]
    for i in range(1, 4):
        with pytest.raises(ZeusBSOBadOperationError):
            clients[i].get_batch_size()
    bs = clients[0].get_batch_size()
    for i in range(1, 4):
        clients[i].current_batch_size = bs
        clients[i].trial_number = clients[0].trial_number
    with pytest.raises(ZeusBSOTrainFailError) as e:
        for i in range(job.max_epochs + 10):
            clients[0].on_evaluate(0.3)
    assert "Train failed to converge within max_epoch" in str(e.value)
    for i in range(1, 4):
        with pytest.raises(ZeusBSOTrainFailError) as e:
            clients[i].on_evaluate(0.3)
        assert "is already reported." in str(e.value), str(e.value)
    print("distributed ok")

    # A trial left open: Zeus's atexit hook ends it (PATCH /trials) when this process exits.
    job = JobSpec.parse_obj(fake_job("test_end_trial"))
    c = BatchSizeOptimizer(mon, URL, job)
    assert c.get_batch_size() == 1024 and c.trial_number == 1
    print("left open")
    """
)


def _zeus_client_importable() -> str | None:
    try:
        import httpx  # noqa: F401, PLC0415
    except ImportError:
        return "httpx is not importable (apt install python3-httpx)"
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


def test_zeus_client_against_zeus_bso_server(tmp_path, v100s_env):
    why = _zeus_client_importable()
    if why is not None:
        pytest.skip(why)
    server = BsoServer(tmp_path)
    try:
        r = subprocess.run(
            [sys.executable, "-c", CHILD, server.url],
            env=v100s_env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert r.returncode == 0, f"Zeus's client failed:\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
        assert r.stdout.split() == ["register", "ok", "batch", "sizes", "ok", "converge", "fail", "ok",
                                    "distributed", "ok", "left", "open"]

        # The trial left open was ended (Failed): it no longer counts as exploring 1024, so
        # once 1024 converges the walk moves on to 512. Had it stayed Dispatched, every
        # predict would hand out a Concurrent 1024 trial instead.
        import zeusc  # noqa: PLC0415
        from zeusc.optimizer.batch_size import BatchSizeOptimizer, JobSpec  # noqa: PLC0415

        job = JobSpec(job_id="test_end_trial", job_id_prefix="test", default_batch_size=1024,
                      batch_sizes=[32, 64, 256, 512, 1024, 4096, 2048], window_size=5, mab_seed=123456)
        mon = zeusc.ZeusMonitor(direct_reads=True, sync_execution_with=lambda gpus: None)
        try:
            c = BatchSizeOptimizer(mon, server.url, job)
            assert c.get_batch_size() == 1024 and c.trial_number == 2
            assert c.report(10.0, 1000.0, 0.9) is True
            c.close()
            c = BatchSizeOptimizer(mon, server.url, job)
            assert c.get_batch_size() == 512
            c.close()
        finally:
            mon.close()
    finally:
        server.stop()


@pytest.fixture
def v100s_env(fake, tmp_path):
    """The child's environment: Zeus's copy first on the path, zeusc next, four V100s."""
    fake.reset(V100_SPEC)  # this process's monitor (the end-trial check) sees them too
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ZEUS_COPY), str(ROOT / "python")])
    env["ZEUS_FAKE_NVML"] = V100_SPEC
    env["ZEUS_SYSFS_ROOT"] = str(tmp_path / "no-sysfs")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env

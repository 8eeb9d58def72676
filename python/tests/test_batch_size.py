"""zeusc.optimizer.batch_size: Zeus's JobSpec rules and messages, the client's errors against
scripted servers (down, 500 then 200, malformed replies), and Zeus's own client test cases
(tests/optimizer/batch_size/test_client.py) against `zeus bso-server`."""

from __future__ import annotations

import json
import time

import pytest

import zeusc
from bso_support import V100_SPEC, BsoServer, Scripted, free_port
from zeusc.optimizer.batch_size import BatchSizeOptimizer, JobSpec
from zeusc.optimizer.batch_size.exceptions import (
    ZeusBSOBadOperationError,
    ZeusBSOConfigError,
    ZeusBSOOperationOrderError,
    ZeusBSORuntimError,
    ZeusBSOTrainFailError,
)

JOB_REPLY = {"job_id": "test-1"}


def fake_job(job_id: str) -> dict:
    """Zeus's Helpers.get_fake_job (conftest.py), "seed" included: unknown keys are ignored."""
    return {
        "job_id": job_id,
        "job_id_prefix": "test",
        "seed": 1,
        "default_batch_size": 1024,
        "batch_sizes": [32, 64, 256, 512, 1024, 4096, 2048],
        "eta_knob": 0.5,
        "beta_knob": 2,
        "target_metric": 0.5,
        "higher_is_better_metric": True,
        "max_epochs": 100,
        "num_pruning_rounds": 2,
        "window_size": 5,
        "mab_prior_mean": 0,
        "mab_prior_precision": 0,
        "mab_seed": 123456,
        "mab_num_explorations": 2,
    }


@pytest.fixture
def v100s(fake, noop_sync):
    fake.reset(V100_SPEC)
    mon = zeusc.ZeusMonitor(direct_reads=True, sync_execution_with=noop_sync)
    yield mon
    mon.close()


@pytest.fixture
def server(tmp_path):
    s = BsoServer(tmp_path)
    yield s
    s.stop()


def small_job(**kw) -> JobSpec:
    return JobSpec(**{"job_id_prefix": "test", "batch_sizes": [16, 8], "default_batch_size": 8, **kw})


# ---- JobSpec -------------------------------------------------------------------------------


def test_jobspec_defaults_and_sorting():
    job = JobSpec.parse_obj(fake_job("test_x"))
    assert job.batch_sizes == [32, 64, 256, 512, 1024, 2048, 4096]
    assert not hasattr(job, "seed")
    d = small_job().dict()
    assert d["eta_knob"] == 0.5 and d["beta_knob"] == 2.0 and d["max_epochs"] == 100
    assert d["num_pruning_rounds"] == 2 and d["window_size"] == 0 and d["mab_seed"] is None
    assert json.loads(small_job().json())["batch_sizes"] == [8, 16]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"default_batch_size": 32}, "Default BS(32) not in batch_sizes([8, 16])."),
        ({"batch_sizes": []}, "Batch Sizes = [] is empty"),
        ({"eta_knob": 1.1}, "eta_knob should be in range [0,1]"),
        ({"beta_knob": 0}, "Invalid beta_knob(0). To disable early stop"),
        ({"job_id": "other-1"}, "Job_id(other-1) does not start with prefix(test)."),
        ({"max_epochs": 0}, "max_epochs"),
        ({"default_batch_size": 0}, "default_batch_size"),
    ],
)
def test_jobspec_rules(kw, message):
    with pytest.raises(ValueError, match=None) as e:
        small_job(**kw)
    assert message in str(e.value)


def test_jobspec_none_disables_early_stop():
    assert small_job(beta_knob=None).beta_knob is None


# ---- Against scripted servers --------------------------------------------------------------


def test_registration_record(v100s):
    srv = Scripted((201, JOB_REPLY))
    try:
        bso = BatchSizeOptimizer(v100s, srv.url, small_job(beta_knob=None))
        assert bso.job.job_id == "test-1"
        assert bso.job.max_power == 300 * 4 and bso.job.number_of_gpus == 4
        assert bso.job.gpu_model == "Tesla V100"
        method, path, body = srv.requests[0]
        assert (method, path) == ("POST", "/jobs")
        sent = json.loads(body)
        assert sent["max_power"] == 1200 and sent["gpu_model"] == "Tesla V100"
        assert sent["beta_knob"] is None and sent["batch_sizes"] == [8, 16]
        bso.close()
        assert len(srv.requests) == 1  # no trial, nothing to end
    finally:
        srv.close()


def test_server_down_names_url(v100s):
    url = f"http://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    with pytest.raises(ZeusBSORuntimError) as e:
        BatchSizeOptimizer(v100s, url, small_job())
    assert f"POST {url}/jobs" in str(e.value) and "3 attempts" in str(e.value)
    assert 0.55 <= time.monotonic() - t0 < 10


def test_500_then_200_is_retried(v100s):
    srv = Scripted((500, {"message": "busy"}), (201, JOB_REPLY))
    try:
        BatchSizeOptimizer(v100s, srv.url, small_job()).close()
        assert [r[:2] for r in srv.requests] == [("POST", "/jobs"), ("POST", "/jobs")]
    finally:
        srv.close()


def test_500_always_is_runtime_error_with_body(v100s):
    srv = Scripted((500, {"message": "database is gone"}))
    try:
        with pytest.raises(ZeusBSORuntimError) as e:
            BatchSizeOptimizer(v100s, srv.url, small_job())
        assert 'Zeus server returned status code 500: {"message": "database is gone"}' in str(e.value)
        assert len(srv.requests) == 3
    finally:
        srv.close()


def test_malformed_reply(v100s):
    srv = Scripted((201, "{not json"))
    try:
        with pytest.raises(ZeusBSORuntimError, match="not JSON"):
            BatchSizeOptimizer(v100s, srv.url, small_job())
    finally:
        srv.close()


def test_heterogeneous_gpus(fake, noop_sync):
    fake.reset("gpus=2;gpu1.name=NVIDIA A100")
    mon = zeusc.ZeusMonitor(direct_reads=True, sync_execution_with=noop_sync)
    try:
        with pytest.raises(ZeusBSOConfigError, match="Heterogeneous GPUs found"):
            BatchSizeOptimizer(mon, "http://127.0.0.1:1", small_job())
    finally:
        mon.close()


def test_order_rank_and_train_failure(v100s, fake):
    srv = Scripted(
        (201, JOB_REPLY),
        (200, JOB_REPLY),
        (200, {"job_id": "test-1", "batch_size": 16, "trial_number": 2}),
        (200, {"stop_train": True, "converged": False, "message": "Train failed to converge within max_epoch(100)"}),
        (200, "null"),
    )
    try:
        other = BatchSizeOptimizer(v100s, srv.url, small_job(), rank=1)
        with pytest.raises(ZeusBSOBadOperationError, match="Only rank 0 gpu can ask for a batch size."):
            other.get_batch_size()
        bso = BatchSizeOptimizer(v100s, srv.url, small_job())
        with pytest.raises(ZeusBSOOperationOrderError, match="Call get_batch_size"):
            bso.on_evaluate(0.1)
        assert bso.get_batch_size() == 16 and bso.current_batch_size == 16 and bso.trial_number == 2
        bso.on_train_begin()
        for g in range(4):
            fake.add_energy_mj(g, 500_000)
        with pytest.raises(ZeusBSOTrainFailError) as e:
            bso.on_evaluate(0.1)
        assert str(e.value) == (
            "Train failed: Train failed to converge within max_epoch(100) This batch size will not be "
            "selected again. Please re-launch the training"
        )
        assert bso.cur_epoch == 1
        bso.on_evaluate(0.2)  # the run is over: nothing more is sent
        n = len(srv.requests)
        bso.close()
        assert srv.requests[n][:2] == ("PATCH", "/trials")
        assert json.loads(srv.requests[n][2]) == {"job_id": "test-1", "batch_size": 16, "trial_number": 2}
        other.close()
    finally:
        srv.close()


# ---- Zeus's test_client.py against zeus bso-server -----------------------------------------

EPOCH_TIME = 37.24807469360
EPOCH_ENERGY = 4264.87199999392 + 4367.186999991536 + 4342.869000002742 + 4158.034000009298


def test_register_job(v100s, server):
    job = JobSpec.parse_obj(fake_job("test_register_job"))
    bso = BatchSizeOptimizer(v100s, server.url, job)
    assert bso.job.max_power == 300 * len(v100s.gpu_indices)
    bso = BatchSizeOptimizer(v100s, server.url, job)  # identical: joined
    assert bso.job.max_power == 300 * len(v100s.gpu_indices)
    changed = job.copy(update={"default_batch_size": 512})
    with pytest.raises(ZeusBSORuntimError, match="status code 409"):
        BatchSizeOptimizer(v100s, server.url, changed)


def test_batch_sizes(v100s, server):
    job = JobSpec.parse_obj(fake_job("test_batch_sizes"))
    bso = BatchSizeOptimizer(v100s, server.url, job)
    assert bso.get_batch_size() == 1024 and bso.current_batch_size == 1024
    for metric in (0.1, 0.2):
        assert bso.report(EPOCH_TIME, EPOCH_ENERGY, metric) is False
    assert bso.report(EPOCH_TIME, EPOCH_ENERGY, 0.6) is True  # converged
    bso.close()

    bso = BatchSizeOptimizer(v100s, server.url, job)
    assert bso.get_batch_size() == 512
    with pytest.raises(ZeusBSOTrainFailError) as e:
        for i in range(job.max_epochs - 10):  # early stop
            bso.report(EPOCH_TIME, EPOCH_ENERGY, 0.3)
            assert bso.cur_epoch == i + 1 and bso.current_batch_size == 512
    assert "cost upper bound" in str(e.value)
    bso.close()

    bso = BatchSizeOptimizer(v100s, server.url, job)
    assert bso.get_batch_size() == 2048
    bso.close()


def test_converge_fail_and_distributed(v100s, server):
    job = JobSpec.parse_obj(fake_job("test_converge_fail"))
    job.beta_knob = None  # disable early stop
    clients = [BatchSizeOptimizer(v100s, server.url, job, rank=i) for i in range(4)]
    for c in clients[1:]:
        with pytest.raises(ZeusBSOBadOperationError):
            c.get_batch_size()
    bs = clients[0].get_batch_size()
    assert bs == 1024
    for c in clients[1:]:
        c.current_batch_size = bs
        c.trial_number = clients[0].trial_number
    with pytest.raises(ZeusBSOTrainFailError) as e:
        for _ in range(job.max_epochs + 10):
            clients[0].report(EPOCH_TIME, EPOCH_ENERGY, 0.3)
    assert "Train failed to converge within max_epoch" in str(e.value)
    assert clients[0].cur_epoch == job.max_epochs
    for c in clients[1:]:
        with pytest.raises(ZeusBSOTrainFailError) as e:
            c.report(EPOCH_TIME, EPOCH_ENERGY, 0.3)
        assert "is already reported." in str(e.value)
    for c in clients:
        c.close()
    bso = BatchSizeOptimizer(v100s, server.url, job)
    assert bso.get_batch_size() == 2048
    bso.close()


def test_measured_epochs_reach_the_server(v100s, server, fake):
    """on_evaluate with the monitor's own windows: converging ends the run with no error."""
    job = JobSpec(job_id_prefix="measured", batch_sizes=[8, 16], default_batch_size=8)
    bso = BatchSizeOptimizer(v100s, server.url, job)
    assert bso.get_batch_size() == 8
    bso.on_train_begin()
    for g in range(4):
        fake.add_energy_mj(g, 1_000_000)
    bso.on_evaluate(0.1)
    assert bso.cur_epoch == 1
    for g in range(4):
        fake.add_energy_mj(g, 1_000_000)
    bso.on_evaluate(0.9)  # converged: no error
    assert bso.cur_epoch == 2
    bso.on_evaluate(0.9)  # the run is over: nothing counted
    assert bso.cur_epoch == 2
    bso.close()

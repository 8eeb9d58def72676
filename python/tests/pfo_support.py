"""Running `zeus pfo-server` for the zeusc tests (test_pipeline_frequency.py,
test_zeus_pfo_client.py): PointSolution over one of lowtime's plans, on a free loopback port."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bso_support import CLI, need_cli

PLAN = Path(__file__).resolve().parents[2] / "tests" / "data" / "perseus" / "lowtime-s2-m4" / "freqs_pipeline_00000.py"


class PfoServer:
    """`zeus pfo-server` on a free loopback port with PointSolution over `plan`."""

    def __init__(self, plan: Path, tmp: Path) -> None:
        need_cli()
        env = dict(os.environ)
        env.update(
            ZEUS_PFO_SCHEDULER="PointSolution",
            ZEUS_PFO_SCHEDULER_ARGS='{"solution_path": "%s"}' % plan,
            ZEUS_PFO_LOG_LEVEL="WARNING",
            ZEUS_PFO_DUMP_DIR=str(tmp / "dump"),
        )
        self.proc = subprocess.Popen(
            [str(CLI), "pfo-server", "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True,
        )
        line = self.proc.stdout.readline()
        if "serving http://" not in line:
            self.stop()
            pytest.fail(f"zeus pfo-server did not start: {line!r}")
        self.url = line.split("serving ")[1].split()[0]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)

import os
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra


@pytest.fixture(scope="session", autouse=True)
def data_root(tmp_path_factory):
    """One offline data cache for the whole test session (MNIST-1D is generated on first use)."""
    root = os.environ.get("DLRUN_TEST_DATA") or str(tmp_path_factory.mktemp("data"))
    os.environ["DLRUN_DATA"] = root
    return root


@pytest.fixture
def make_cfg():
    """Compose the config exactly as `dlrun` would, from a list of overrides."""

    def _compose(*overrides: str):
        GlobalHydra.instance().clear()
        with initialize_config_module("dlrun.conf", version_base="1.3"):
            return compose("config", overrides=["trainer.progress=false", *overrides])

    yield _compose
    GlobalHydra.instance().clear()


def run_dlrun(*args: str, cwd=None, timeout=300, env=None) -> subprocess.CompletedProcess:
    """Run the real command line, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "dlrun", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )

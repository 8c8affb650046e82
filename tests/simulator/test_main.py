"""The standalone simulator's command line."""

import subprocess
import sys

# Runs the module as `python -m` does, with uvicorn made unimportable.
WITHOUT_UVICORN = """
import runpy, sys
sys.modules["uvicorn"] = None
sys.argv = ["simulator"]
runpy.run_module("playground.simulator", run_name="__main__")
"""


def test_says_uvicorn_is_needed_when_it_is_missing():
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_UVICORN], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert "needs uvicorn, a dev dependency" in result.stderr
    assert "requirements-dev.txt" in result.stderr
    assert "Traceback" not in result.stderr

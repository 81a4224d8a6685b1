"""A wheel built from the checkout works from anywhere, with its bundled sources."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from tests.conftest import ROOT


def run(*args: str | Path, cwd: Path | None = None, env: dict | None = None) -> str:
    """Run a command; fail the test with its stderr if it fails."""
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_wheel_installs_and_runs_from_another_directory(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"  # a clean copy: no build/ left by an earlier build
    junk = shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__", "tests")
    shutil.copytree(ROOT, checkout, ignore=junk, symlinks=True)
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, checkout)
    (wheel,) = wheels.glob("veille-*.whl")

    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"))
    # The dependencies come from this test's environment (no network needed); a path added by
    # a .pth file comes after the venv's own site-packages, where the wheel goes.
    (Path(site.as_posix().strip()) / "deps.pth").write_text(sysconfig.get_paths()["purelib"])
    run(*pip, "--python", python, "install", "--no-deps", wheel)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("VEILLE_SOURCES", "PYTHONPATH")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    code = run(python, "-c", "import crawler; print(crawler.__file__)", cwd=elsewhere, env=env)
    assert code.startswith(str(target))  # the wheel's code, not the checkout's
    veille = target / "bin" / "veille"
    assert run(veille, "--version", cwd=elsewhere, env=env).startswith("veille ")
    listed = run(veille, "sources", cwd=elsewhere, env=env)
    assert "lematin" in listed and "hespress" in listed

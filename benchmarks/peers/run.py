"""Making each peer's virtual environment and running its script there."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENVS = REPO / ".bench-venvs"
PEERS = ("langchain", "llamaindex")


def python_of(peer: str) -> Path:
    """The peer's interpreter, its environment made and filled on first use."""
    home = VENVS / peer
    python = home / "bin" / "python"
    requirements = Path(__file__).parent / f"requirements-{peer}.txt"
    stamp = home / "requirements.txt"
    if not python.exists() or not stamp.exists() or stamp.read_text() != requirements.read_text():
        print(f"making {home} from {requirements.name} ...", file=sys.stderr, flush=True)
        venv.create(home, with_pip=True, clear=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "-r", requirements], check=True)
        stamp.write_text(requirements.read_text())
    return python


def run_peer(
    peer: str, url: str, corpus: Path, queries: Path, rows: str = "add"
) -> dict[str, object]:
    completed = subprocess.run(
        [
            python_of(peer),
            "-m",
            f"benchmarks.peers.{peer}",
            "--url",
            url,
            "--corpus",
            corpus,
            "--queries",
            queries,
            "--rows",
            rows,
        ],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"peer {peer} failed:\n{completed.stderr[-3000:]}")
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result

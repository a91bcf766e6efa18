"""Example sets that ship with loopwise, one folder per dataset (JSONL files)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def dataset_path(name: str) -> Path:
    """The folder of the shipped dataset ``name``; raises FileNotFoundError if there is none."""
    path = ROOT / name
    if not path.is_dir():
        available = sorted(
            p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith("_")
        )
        raise FileNotFoundError(f"no dataset {name!r}; shipped datasets: {', '.join(available)}")
    return path


__all__ = ["ROOT", "dataset_path"]

"""What `pip install .` ships: every package folder of ours, under `ledgerdesk.<folder>`.

An editable install finds a package missing from pyproject's list anyway, so only a real wheel
shows the gap (the agents read model was left out of wheels this way).
"""
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("domain", "application", "projections", "interfaces", "migrations")


def test_every_package_folder_is_listed_for_the_wheel():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {"ledgerdesk." + ".".join(init.parent.relative_to(ROOT).parts)
               for layer in LAYERS for init in (ROOT / layer).rglob("__init__.py")}
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - on_disk == set()

"""Dependencies point inward: interfaces -> application -> domain (import-linter contracts in pyproject.toml)."""
from pathlib import Path

import pytest
from importlinter import cli

pytestmark = pytest.mark.unit

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_layers_import_only_inward():
    assert cli.lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True) == 0

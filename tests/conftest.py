"""Shared fixtures. Area-specific fixtures live in their own test modules."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def definition():
    from leadsim import load_definition

    return load_definition()

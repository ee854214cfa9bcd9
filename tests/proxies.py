"""Skip or fail a test that needs HAProxy or NGINX: skip with a hint when the program is
missing, fail instead when SCALELAB_REQUIRE_PROXIES=1 (as in CI, where .ci/run installs both)."""

from __future__ import annotations

import os

import pytest

import scalelab as sl


def require(program: str) -> str:
    """The program's binary, or skip (fail in CI) with how to install it."""
    binary = sl.lab.external.find(program)
    if binary is not None:
        return binary
    message = f"{program} not found; {sl.lab.external.INSTALL_HINT}".format(
        NAME=program.upper(), program=program)
    if os.environ.get("SCALELAB_REQUIRE_PROXIES") == "1":
        pytest.fail(f"SCALELAB_REQUIRE_PROXIES=1 but {message}", pytrace=False)
    pytest.skip(message)

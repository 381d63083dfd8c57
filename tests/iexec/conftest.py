"""Fixtures of the iExec lane (`make test-iexec`): one local chain per session, stopped even on failure."""

from __future__ import annotations

import subprocess

import pytest

from tests.iexec.sdk import BIN, TOOLS, LocalChain


@pytest.fixture(scope="session")
def sdk_installed() -> None:
    if not (BIN / "iexec").exists():
        pytest.fail("tools/iexec/node_modules is missing: `make test-iexec` runs `npm ci` there first")


@pytest.fixture(scope="session")
def poco_package(sdk_installed) -> None:
    subprocess.run(["bash", str(TOOLS / "fetch-poco.sh")], check=True, timeout=300, capture_output=True)


@pytest.fixture(scope="session")
def chain(poco_package, tmp_path_factory):
    c = LocalChain(tmp_path_factory.mktemp("chain"))
    try:
        c.start()
        yield c
    finally:
        c.stop()

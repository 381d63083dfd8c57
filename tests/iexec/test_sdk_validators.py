"""Test group 1 of issue 5: the SDK's own validators accept our iexec.json / chain.json and reject
deliberately broken copies (one defect each, and only that check fails)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.iexec.commands import VALIDATE
from tests.iexec.sdk import LANE, ROOT, TOOLS, sh

pytestmark = [LANE, pytest.mark.usefixtures("sdk_installed")]

CHECKS = [
    "iexec.json parses",
    "iexec.json app",
    "iexec.json order.apporder",
    "iexec.json order.requestorder",
    "iexec.json order.requestorder.params (standard task)",
    "iexec.json order.requestorder.params (TEE task)",
    "chain.json (SDK loadChainConf, strict)",
]


def validate(folder: Path) -> tuple[int, dict[str, str]]:
    proc = subprocess.run(
        ["node", str(TOOLS / "validate-iexec-project.mjs"), str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    verdicts = {}
    for line in proc.stdout.splitlines():
        status, _, rest = line.partition(" ")
        label, _, message = rest.strip().partition(": ")
        verdicts[label] = f"{status} {message}".strip()
    return proc.returncode, verdicts


def test_our_project_files_are_accepted():
    code, verdicts = validate(ROOT)
    assert {k: v for k, v in verdicts.items() if not v.startswith("WARN")} == {
        label: "OK" for label in CHECKS
    }
    assert code == 0


def test_committed_placeholders_are_flagged_until_make_iexec_app(tmp_path):
    for name in ("iexec.json", "chain.json"):
        shutil.copy(ROOT / name, tmp_path / name)
    conf = json.loads((tmp_path / "iexec.json").read_text())
    conf["app"].update(owner="0x000000000000000000000000000000000000dEaD", checksum="0x" + "0" * 64)
    (tmp_path / "iexec.json").write_text(json.dumps(conf))
    code, verdicts = validate(tmp_path)
    assert code == 0
    assert verdicts["app.owner"].startswith("WARN still the placeholder")
    assert verdicts["app.checksum"].startswith("WARN all zeros")


def test_make_iexec_validate_is_the_same_check():
    r = sh(VALIDATE, ROOT)
    assert r.code == 0, r.stdout + r.stderr
    assert r.stdout.count("OK   ") == len(CHECKS)
    assert "FAIL" not in r.stdout


def _iexec(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        conf = json.loads((folder / "iexec.json").read_text())
        edit(conf)
        (folder / "iexec.json").write_text(json.dumps(conf))

    return apply


def _chain(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        conf = json.loads((folder / "chain.json").read_text())
        edit(conf)
        (folder / "chain.json").write_text(json.dumps(conf))

    return apply


BROKEN = {
    # the checksum must be 0x + 64 hex: a truncated one, and docker's own spelling copied by hand
    "short checksum": (
        _iexec(lambda c: c["app"].update(checksum="0x1234")),
        "iexec.json app",
        "is not a bytes32 hexstring",
    ),
    "docker digest spelling": (
        _iexec(lambda c: c["app"].update(checksum="sha256:" + "ab" * 32)),
        "iexec.json app",
        "is not a bytes32 hexstring",
    ),
    "wrong app type": (
        _iexec(lambda c: c["app"].update(type="DOCKERFILE")),
        "iexec.json app",
        "DOCKERFILE is not a valid type",
    ),
    "owner not an address": (
        _iexec(lambda c: c["app"].update(owner="0xnot-an-address")),
        "iexec.json app",
        "is not a valid ethereum address",
    ),
    "param dropped by SDK 9": (
        _iexec(lambda c: c["order"]["requestorder"]["params"].update(iexec_developer_logger=True)),
        "iexec.json order.requestorder.params",  # both the standard and the TEE rule set
        "keys the SDK would drop: iexec_developer_logger",
    ),
    "unknown chain key": (
        _chain(lambda c: c["chains"]["local"].update(ipfsNode="http://127.0.0.1:5001")),
        "chain.json (SDK loadChainConf, strict)",
        'Unknown key "ipfsNode"',
    ),
    "numeric chain id": (
        _chain(lambda c: c["chains"]["local"].update(id=31337)),
        "chain.json (SDK loadChainConf, strict)",
        "id must be a `string` type",
    ),
    "sms not a URL": (
        _chain(lambda c: c["chains"]["local"].update(sms="127.0.0.1:9")),
        "chain.json (SDK loadChainConf, strict)",
        'sms "127.0.0.1:9" is not a valid URL',
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_copy_is_rejected_by_the_sdk(case, tmp_path):
    break_it, failing, needle = BROKEN[case]
    for name in ("iexec.json", "chain.json"):
        shutil.copy(ROOT / name, tmp_path / name)
    break_it(tmp_path)
    code, verdicts = validate(tmp_path)
    assert code == 1
    hit = {label: v for label, v in verdicts.items() if label.startswith(failing)}
    assert hit, verdicts
    assert all(v.startswith("FAIL") and needle in v for v in hit.values()), verdicts
    others = [v for label, v in verdicts.items() if label not in hit and not v.startswith("WARN")]
    assert all(v == "OK" for v in others), verdicts

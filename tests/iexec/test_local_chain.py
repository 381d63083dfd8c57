"""Test group 2 of issue 5 (and the README's flow end to end): the real SDK 9.0.1 CLI against PoCo 6.1.0
on a loopback hardhat node.

The README's commands (tests/iexec/commands.py) run in a scratch copy of our iexec.json/chain.json:
make iexec-app, app deploy, app show, app run --watch, deal show, task show --download, unzip. What a
public network adds around them is played here: tools/iexec/local-worker.mjs does the scheduler's
`initialize` and the worker's `contributeAndFinalize` (with the scheduler's and an enclave's
signatures, as PoCo checks them), tests/worker_emulation.py runs our real entrypoint on the deal's
`iexec_args` read back from the chain, and a loopback server stands in for the IPFS gateway.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from tests.iexec import commands as C
from tests.iexec.sdk import (
    ADDR0,
    ADDR1,
    KEY0,
    KEY1,
    LANE,
    ROOT,
    TDX_TAG,
    Gateway,
    env_with_tools,
    iexec_ok,
    local_chain_entry,
    node,
    sh,
)
from tests.loopback import LoopbackServer
from tests.random_weights import write_random_weights
from tests.worker_emulation import run_task

pytestmark = LANE

IMAGE = json.loads((ROOT / "iexec.json").read_text())["app"]["multiaddr"]
DIGEST_HEX = hashlib.sha256(b"stand-in for the registry digest of a pushed image").hexdigest()
SAMPLE = ROOT / "app" / "sample" / "astronaut.jpg"


@pytest.fixture(scope="module")
def project(chain, tmp_path_factory):
    """Scratch project: our files, dev wallet #0, the README's `make iexec-app`, and a workerpool."""
    p = tmp_path_factory.mktemp("project")
    for name in ("iexec.json", "chain.json"):
        shutil.copy(ROOT / name, p / name)
    # The committed `local` entry must be what a fresh node + PoCo deploy gives, or the README's
    # `--chain local` would point at nothing.
    assert chain.hub == local_chain_entry()["hub"]
    # Stands in for the README's interactive `iexec wallet create`.
    iexec_ok(f"iexec wallet import {KEY0} --unencrypted", p)
    iexec_ok(f"iexec wallet import {KEY1} --keystoredir ./keystore --password test", p)
    extra = f"IEXEC_JSON={p}/iexec.json DIGEST=sha256:{DIGEST_HEX}"
    r = sh(f"{C.SET_APP} {extra}", ROOT, env(IMAGE=IMAGE, OWNER=ADDR0))
    assert r.code == 0, r.stderr
    r = sh(f"{C.VALIDATE} IEXEC_DIR={p}", ROOT)
    assert r.code == 0, r.stdout + r.stderr
    assert "WARN" not in r.stdout  # make iexec-app replaced both placeholders
    # The workerpool operator's side (not a README step): deploy a pool owned by the same wallet,
    # so that `app run` can sign its workerpoolorder locally instead of fetching one from a marketplace.
    iexec_ok("iexec workerpool init", p)
    pool = iexec_ok("iexec workerpool deploy --chain local", p)["address"]
    return p, pool


def env(**values: str) -> dict[str, str]:
    return {"CHAIN": "local", **values}


@pytest.fixture(scope="module")
def deployed(project):
    p, pool = project
    out = iexec_ok(C.DEPLOY, p, env())
    return p, pool, out["address"]


def test_wallet_create(tmp_path):
    out = iexec_ok(f"{C.WALLET_CREATE} --password test --keystoredir ./keystore", tmp_path)
    files = list((tmp_path / "keystore").iterdir())
    assert len(files) == 1 and out["address"][2:].lower() in files[0].name.lower()


def test_wallet_show_on_the_local_chain(project):
    p, _ = project
    out = iexec_ok(C.WALLET_SHOW, p, env())
    assert out["wallet"]["address"] == ADDR0


def test_app_deploy_writes_deployed_json(deployed):
    p, _, app = deployed
    assert json.loads((p / "deployed.json").read_text())["app"]["31337"] == app


def test_app_show_returns_our_multiaddr_and_checksum(deployed):
    p, _, app = deployed
    out = iexec_ok(C.SHOW, p, env())
    assert out["address"] == app
    assert out["app"]["appMultiaddr"] == IMAGE
    assert out["app"]["appChecksum"] == "0x" + DIGEST_HEX
    assert out["app"]["owner"] == ADDR0
    assert out["app"]["appType"] == "DOCKER"
    assert out["app"]["appMREnclave"] == ""


def test_redeploying_the_same_app_is_refused(deployed):
    p, _, app = deployed
    r = sh(f"{C.DEPLOY} --raw", p, env())
    assert r.code == 1
    assert f"App already deployed at address {app}" in r.stderr


def _wait_deal(chain, from_block: int) -> str:
    return node("local-worker.mjs", "wait-deal", chain.hub, str(from_block), "120")["dealid"]


def _deal(p: Path, deal_id: str) -> dict:
    return iexec_ok(C.DEAL_SHOW, p, env(DEAL=deal_id))["deal"]


@pytest.mark.parametrize(
    "iexec_args",
    [
        "https://images.example.org/street/view 01.jpg",
        "\"https://images.example.org/a b.jpg\" --classes 'person,teddy bear' --min-confidence 0.5",
        "https://images.example.org/x.jpg?sig=a%2Fb&t=1#frag $HOME `id` ;|&",
    ],
    ids=["space", "quotes", "shell-metacharacters"],
)
def test_app_run_deal_carries_iexec_args_unchanged(chain, deployed, iexec_args):
    """`app run --args` → deal params → the argv our entrypoint gets, byte for byte."""
    p, pool, app = deployed
    start = chain.block_number() + 1  # the next block on: the latest may hold an earlier deal
    # The README's line without --watch (nothing completes these deals) and with the spending prompt skipped.
    line = C.RUN.removesuffix(" --watch")
    iexec_ok(f"{line} --force", p, env(APP=app, WORKERPOOL=pool, IMAGE_URL=iexec_args))
    deal = _deal(p, _wait_deal(chain, start))
    params = json.loads(deal["params"])
    assert params["iexec_args"] == iexec_args
    assert params["iexec_result_storage_provider"] == "ipfs"
    assert deal["app"]["pointer"] == app
    assert deal["workerpool"]["pointer"] == pool
    assert deal["category"] == "1"
    assert deal["tag"] == TDX_TAG  # forced by SDK 9.0.1 whatever we ask for


def test_requestorder_template_signed_and_filled_keeps_our_iexec_args(chain, deployed):
    """iexec.json's order templates, signed by their owners and filled by another requester."""
    p, pool, app = deployed
    conf = json.loads((p / "iexec.json").read_text())
    wanted = conf["order"]["requestorder"]["params"]["iexec_args"]
    conf["order"]["apporder"]["app"] = app
    conf["order"]["workerpoolorder"] = {
        "workerpool": pool,
        "workerpoolprice": "0",
        "volume": "1",
        "tag": ["tee", "tdx"],
        "category": conf["order"]["requestorder"]["category"],
        "trust": "0",
        "apprestrict": app,
        "datasetrestrict": "0x" + "0" * 40,
        "requesterrestrict": ADDR1,
    }
    conf["order"]["requestorder"].update(app=app, workerpool=pool, requester=ADDR1, beneficiary=ADDR1)
    (p / "iexec.json").write_text(json.dumps(conf, indent=2))
    requester = f"--keystoredir ./keystore --wallet-address {ADDR1} --password test"
    iexec_ok("iexec order sign --app --workerpool --chain local", p)
    iexec_ok(f"iexec order sign --request --chain local {requester}", p)
    start = chain.block_number() + 1  # the next block on: the latest may hold an earlier deal
    filled = iexec_ok(f"iexec order fill --chain local {requester}", p)
    assert filled["dealid"] == _wait_deal(chain, start)
    deal = _deal(p, filled["dealid"])
    assert json.loads(deal["params"])["iexec_args"] == wanted
    assert deal["requester"] == ADDR1
    assert deal["tag"] == TDX_TAG


@pytest.fixture(scope="module")
def image_server():
    with LoopbackServer() as srv:
        srv.files["astronaut.jpg"] = (SAMPLE.read_bytes(), "image/jpeg")
        yield srv


def test_readme_flow_run_watch_download_and_read(chain, deployed, image_server, tmp_path):
    """`app run … --watch` returns once a worker completed the task; `task show --download` gets its zip."""
    p, pool, app = deployed
    image_url = image_server.url("/img/astronaut.jpg")
    start = chain.block_number() + 1  # the next block on: the latest may hold an earlier deal
    watcher = subprocess.Popen(
        ["bash", "-c", f"{C.RUN} --force --raw"],
        cwd=p,
        env=env_with_tools(env(APP=app, WORKERPOOL=pool, IMAGE_URL=image_url)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        deal_id = _wait_deal(chain, start)
        deal = _deal(p, deal_id)
        iexec_args = json.loads(deal["params"])["iexec_args"]
        assert iexec_args == image_url
        task_id = node("local-worker.mjs", "initialize", chain.hub, deal_id, "0")["taskid"]
        assert task_id == deal["tasks"][0]

        # The worker: our entrypoint on the deal's iexec_args, then the result zip on "IPFS".
        weights = write_random_weights(tmp_path / "weights.h5")
        run = run_task(
            iexec_args,
            tmp_path / "worker",
            {"MRCNN_WEIGHTS": str(weights), "MRCNN_ALLOW_HOSTS": "127.0.0.1"},
            task_id=task_id,
        )
        assert run.argv[-1] == image_url and run.exit_code == 0
        location = "/ipfs/" + hashlib.sha256(run.zip_path.read_bytes()).hexdigest()
        with Gateway(local_chain_entry()["ipfsGateway"]) as gateway:
            gateway.files[location] = run.zip_path.read_bytes()
            results = json.dumps({"storage": "ipfs", "location": location})
            node("local-worker.mjs", "finalize", chain.hub, task_id, run.result_digest, results)

            t0 = time.monotonic()
            stdout, stderr = watcher.communicate(timeout=180)
            assert watcher.returncode == 0, stderr
            watched = json.loads(stdout.strip().splitlines()[-1])
            assert [t["statusName"] for t in watched["tasks"]] == ["COMPLETED"]
            assert time.monotonic() - t0 < 120

            shown = iexec_ok(C.DOWNLOAD, p, env(TASK=task_id))
        # Locally only the on-chain half: the logs come from the workerpool's API on a public network.
        debug = iexec_ok(C.DEBUG, p, env(TASK=task_id))
        assert debug["onchainData"]["statusName"] == "COMPLETED"
        assert debug["onchainData"]["results"] == {"storage": "ipfs", "location": location}
        assert shown["task"]["resultDigest"] == run.result_digest
        assert (p / "result.zip").read_bytes() == run.zip_path.read_bytes()
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait(timeout=10)

    r = sh(C.UNZIP, p)
    assert r.code == 0, r.stderr
    out = p / "result"
    computed = json.loads((out / "computed.json").read_text())
    # The path is the worker's, inside its IEXEC_OUT; the same file sits at the zip's top level.
    det_name = Path(computed["deterministic-output-path"]).name
    assert det_name == "results.json"
    assert "0x" + hashlib.sha256((out / det_name).read_bytes()).hexdigest() == shown["task"]["resultDigest"]
    results_doc = json.loads((out / "results.json").read_text())
    assert [(i["source"], i["status"]) for i in results_doc["inputs"]] == [(image_url, "ok")]
    names = sorted(f.name for f in out.iterdir())
    assert {"computed.json", "results.json", "coco_results.json", "stdout.txt", "stderr.txt"} <= set(names)
    with zipfile.ZipFile(p / "result.zip") as zf:
        assert sorted(zf.namelist()) == names


def test_account_deposit_and_show(deployed):
    """Paid workerpools take RLC from the requester's iExec account, filled by `account deposit`."""
    p, _, _ = deployed
    before = iexec_ok(C.ACCOUNT_SHOW, p, env())
    iexec_ok(C.DEPOSIT, p, env(AMOUNT="1000"))
    after = iexec_ok(C.ACCOUNT_SHOW, p, env())
    assert int(after["balance"]["stake"]) == int(before["balance"]["stake"]) + 1000


@pytest.mark.parametrize("line", sorted(C.PUBLIC_ONLY))
def test_public_network_lines_stop_only_at_the_missing_marketplace(deployed, line):
    p, _, _ = deployed
    r = sh(f"{line} {C.PUBLIC_ONLY[line]} --raw", p, env())
    assert r.code == 1
    error = r.json()
    assert error["ok"] is False
    assert error["error"]["message"] == C.PUBLIC_ONLY_ERROR

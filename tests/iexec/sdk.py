"""Helpers of the iExec lane: the pinned SDK CLI, node scripts, the local chain and a loopback gateway.

Everything listens on 127.0.0.1 only and every child process has a time limit: the hardhat node
runs under `timeout`, so even a killed test run cannot leave it alive for more than LIFETIME_S.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools" / "iexec"
BIN = TOOLS / "node_modules" / ".bin"
LIFETIME_S = 900
CMD_TIMEOUT_S = 180

# hardhat's publicly known dev accounts: #0 owns the app and the workerpool, #1 is another requester.
KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ADDR0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
KEY1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
ADDR1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
TDX_TAG = "0x" + "0" * 63 + "9"

LANE = pytest.mark.skipif(
    os.environ.get("IEXEC_LANE") != "1",
    reason="iExec SDK lane (npm + local chain): run `make test-iexec`",
)


def env_with_tools(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        text = self.stdout.strip() or self.stderr.strip()
        return json.loads(text.splitlines()[-1])


def sh(command: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = CMD_TIMEOUT_S) -> Result:
    """Run one command line through bash, as a reader would paste it, with stdin closed (no prompt hangs)."""
    proc = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env_with_tools(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def iexec_ok(command: str, cwd: Path, env: dict[str, str] | None = None) -> dict:
    """An `iexec …` line with --raw; asserts exit 0 and ok:true (order init/sign exit 0 on failure)."""
    r = sh(f"{command} --raw", cwd, env)
    assert r.code == 0, f"{command}: exit {r.code}\n{r.stderr}\n{r.stdout}"
    out = r.json()
    assert out.get("ok") is True, f"{command}: {r.stdout}\n{r.stderr}"
    return out


def node(script: str, *args: str, timeout: float = CMD_TIMEOUT_S, extra_env: dict | None = None) -> dict:
    """Run one of tools/iexec's scripts; they end with a one-line JSON answer (deploy-local-poco: a file)."""
    proc = subprocess.run(
        ["node", str(TOOLS / script), *args],
        cwd=TOOLS,
        env=env_with_tools(extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"node {script} {' '.join(args)}: exit {proc.returncode}\n{proc.stderr}"
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "{}"
    return json.loads(last) if last.startswith("{") else {}


def rpc(url: str, method: str, params: list | None = None) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, body, {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=2) as resp:
        return json.loads(resp.read())["result"]


def local_chain_entry() -> dict:
    return json.loads((ROOT / "chain.json").read_text())["chains"]["local"]


class LocalChain:
    """hardhat node (chainId 31337) on the host/port of chain.json's `local` entry, with PoCo 6.1.0."""

    def __init__(self, workdir: Path):
        self.entry = local_chain_entry()
        self.rpc_url = self.entry["host"]
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.hub = ""

    def start(self) -> None:
        parts = urlsplit(self.rpc_url)
        assert parts.hostname == "127.0.0.1", "the test chain must stay on loopback"
        try:
            rpc(self.rpc_url, "eth_chainId")
        except OSError:
            pass
        else:
            pytest.fail(f"something already answers on {self.rpc_url}; stop it before the lane")
        log = open(self.workdir / "hardhat-node.log", "wb")  # noqa: SIM115 - open for the node's lifetime
        self.proc = subprocess.Popen(
            [
                shutil.which("timeout") or "timeout",
                str(LIFETIME_S),
                str(BIN / "hardhat"),
                "node",
                "--hostname",
                "127.0.0.1",
                "--port",
                str(parts.port),
            ],
            cwd=TOOLS,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env_with_tools({"HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"}),
            start_new_session=True,  # its own process group, so stop() reaches hardhat's children too
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                if rpc(self.rpc_url, "eth_chainId") == "0x7a69":
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log_text = (self.workdir / "hardhat-node.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"hardhat node did not come up on {self.rpc_url}:\n{log_text}")
            time.sleep(0.2)
        poco_out = self.workdir / "local-poco.json"
        node("deploy-local-poco.mjs", extra_env={"RPC_URL": self.rpc_url, "POCO_OUT": str(poco_out)})
        self.hub = json.loads(poco_out.read_text())["hub"]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass

    def block_number(self) -> int:
        return int(str(rpc(self.rpc_url, "eth_blockNumber")), 16)


class Gateway:
    """A loopback stand-in for the IPFS gateway of chain.json's `local` entry: GET /ipfs/<id> → bytes."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1"
        self.files: dict[str, bytes] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                data = files.get(self.path)
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", parts.port), Handler)
        self.httpd.daemon_threads = True

    def __enter__(self) -> Gateway:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

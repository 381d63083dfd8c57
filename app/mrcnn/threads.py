"""How many CPU threads inference may use: the CPUs this process may run on, capped by its cgroup quota."""

from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path

ENV_VAR = "MRCNN_THREADS"


def _cgroup_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPU quota in cores from cgroup v2 `cpu.max` or v1 `cfs_quota_us/cfs_period_us`."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            return int(quota) / int(period)
        return None
    except (OSError, ValueError):
        pass  # no cgroup v2 controller here: try v1
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        if quota_us > 0 and period_us > 0:
            return quota_us / period_us
    except (OSError, ValueError):
        pass  # no v1 controller either: no quota
    return None


def available_cpus(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """CPUs in this process's affinity mask, reduced to the cgroup quota (rounded up), at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = _cgroup_quota(cgroup_root)
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def thread_count(requested: int | None = None) -> int:
    """An explicit request wins, then $MRCNN_THREADS, then the available CPUs."""
    if requested is not None:
        if requested < 1:
            raise ValueError(f"thread count must be at least 1, got {requested}")
        return requested
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        try:
            return thread_count(int(env))
        except ValueError:
            raise ValueError(f"{ENV_VAR} must be a positive integer, got {env!r}") from None
    return available_cpus()


# Notices TensorFlow's C++ side writes to stderr at import whatever TF_CPP_MIN_LOG_LEVEL says.
_IMPORT_NOISE = ("All log messages before absl::InitializeLog()", "oneDNN custom operations are on")


def import_tensorflow():
    """Import TensorFlow with its start-up notices filtered out of stderr; anything else is kept."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines() if not any(n in line for n in _IMPORT_NOISE)]
            if kept:
                print("\n".join(kept), file=sys.stderr, flush=True)
    return tf


def configure_tensorflow(threads: int) -> int:
    """Size TensorFlow's thread pools; returns the count in force (pools are fixed once TF runs)."""
    tf = import_tensorflow()

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        # The network is one chain of big ops: parallelism inside each op is what pays, and running
        # independent branches side by side only raises peak memory.
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        # TF already executed something in this process; its pools cannot be resized any more.
        return tf.config.threading.get_intra_op_parallelism_threads() or threads
    return threads

"""Thread count: follows the CPUs the process may use and its cgroup quota, overridable."""

from __future__ import annotations

import os

import pytest

from app.mrcnn.threads import available_cpus, thread_count


def _affinity() -> int:
    return len(os.sched_getaffinity(0))


def test_cgroup_v2_quota_caps_the_count(tmp_path):
    (tmp_path / "cpu.max").write_text("100000 100000\n")  # docker run --cpus 1
    assert available_cpus(tmp_path) == 1


def test_fractional_quota_rounds_up(tmp_path):
    (tmp_path / "cpu.max").write_text("50000 100000\n")  # --cpus 0.5 still needs one thread
    assert available_cpus(tmp_path) == 1


def test_unlimited_v2_and_v1_quotas_leave_the_affinity(tmp_path):
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert available_cpus(tmp_path) == _affinity()
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert available_cpus(v1) == _affinity()


def test_cgroup_v1_quota(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert available_cpus(tmp_path) == 1


def test_explicit_request_and_environment_override(monkeypatch):
    monkeypatch.setenv("MRCNN_THREADS", "3")
    assert thread_count() == 3
    assert thread_count(1) == 1
    monkeypatch.setenv("MRCNN_THREADS", "lots")
    with pytest.raises(ValueError, match="MRCNN_THREADS"):
        thread_count()
    with pytest.raises(ValueError):
        thread_count(0)

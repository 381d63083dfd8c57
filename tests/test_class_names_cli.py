"""A user's own matterport model through the task command: its class names come from --class-names."""

from __future__ import annotations

from tests.test_task_cli import run_app


def test_custom_model_names_its_classes(three_class_weights, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("BG\nballoon\nkite\n")
    run = run_app(["--weights", str(three_class_weights), "--class-names", str(names),
                   "--min-confidence", "0"], tmp_path / "out")
    assert run.code == 0, run.stderr
    entry = run.results()["inputs"][0]
    assert entry["status"] == "ok"
    assert {d["class_name"] for d in entry["detections"]} <= {"balloon", "kite"}
    assert entry["detections"], "confidence 0 keeps every non-background detection"


def test_names_that_do_not_fit_the_file_are_one_clear_error(three_class_weights, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("BG\nballoon\n")
    run = run_app(["--weights", str(three_class_weights), "--class-names", str(names)], tmp_path / "out")
    assert run.code == 1
    assert "3 classes" in run.stderr and "2 class names" in run.stderr
    assert "Traceback" not in run.stderr


def test_unreadable_names_file_is_a_usage_error(tmp_path):
    run = run_app(["--class-names", str(tmp_path / "missing.txt")], tmp_path / "out")
    assert run.code == 2
    assert "--class-names" in run.stderr and "Traceback" not in run.stderr

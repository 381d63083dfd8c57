"""app.inputs: order of the inputs, iExec variables, the dataset zip, the cap, bounded local reads."""

from __future__ import annotations

import zipfile

import pytest

from app.inputs import SAMPLE, InputError, UsageError, collect, read_local, redact


@pytest.fixture
def iexec_in(tmp_path):
    folder = tmp_path / "iexec_in"
    folder.mkdir()
    (folder / "0xabc").write_bytes(b"first input file")
    (folder / "cat.jpg").write_bytes(b"second input file")
    with zipfile.ZipFile(folder / "0xdataset", "w") as zf:
        zf.writestr("b.png", b"B")
        zf.writestr("a.jpg", b"A")
        zf.writestr("dir/", b"")
        zf.writestr("__MACOSX/._a.jpg", b"resource fork")
        zf.writestr(".hidden", b"dot file")
    return folder


def test_order_arguments_then_input_files_then_dataset(iexec_in, tmp_path):
    local = tmp_path / "local.png"
    local.write_bytes(b"x")
    env = {
        "IEXEC_IN": str(iexec_in),
        "IEXEC_INPUT_FILES_NUMBER": "2",
        "IEXEC_INPUT_FILE_NAME_1": "0xabc",
        "IEXEC_INPUT_FILE_NAME_2": "cat.jpg",
        "IEXEC_DATASET_FILENAME": "0xdataset",
    }
    specs = collect(["https://example.org/a.jpg", str(local)], env)
    assert [(s.index, s.kind, s.source) for s in specs] == [
        (1, "url", "https://example.org/a.jpg"),
        (2, "file", str(local)),
        (3, "file", "0xabc"),
        (4, "file", "cat.jpg"),
        (5, "zip", "0xdataset/a.jpg"),  # members sorted by name; folders, __MACOSX and dot files skipped
        (6, "zip", "0xdataset/b.png"),
    ]
    assert read_local(specs[4], 100) == b"A"
    assert read_local(specs[2], 100) == b"first input file"


def test_dataset_that_is_a_plain_image(iexec_in):
    specs = collect([], {"IEXEC_IN": str(iexec_in), "IEXEC_DATASET_FILENAME": "cat.jpg"})
    assert [(s.kind, s.location) for s in specs] == [("file", str(iexec_in / "cat.jpg"))]


def test_old_variable_name_is_accepted(iexec_in):
    specs = collect(
        [], {"IEXEC_IN": str(iexec_in), "IEXEC_NB_INPUT_FILES": "1", "IEXEC_INPUT_FILE_NAME_1": "0xabc"}
    )
    assert [s.source for s in specs] == ["0xabc"]


def test_problems_become_invalid_inputs_not_silent_skips(iexec_in):
    env = {
        "IEXEC_IN": str(iexec_in),
        "IEXEC_INPUT_FILES_NUMBER": "2",
        "IEXEC_INPUT_FILE_NAME_1": "../etc/passwd",
        "IEXEC_DATASET_FILENAME": "0xmissing",
    }
    specs = collect(["ftp://host/x.jpg", "FILE:///etc/hosts", "no/such/file.jpg"], env)
    assert [(s.kind, s.problem) for s in specs] == [
        ("invalid", "unsupported URL scheme 'ftp' (only http and https)"),
        ("invalid", "unsupported URL scheme 'file' (only http and https)"),
        ("invalid", "not an http(s) URL nor an existing file"),
        ("invalid", "input file name must not contain a path"),
        ("invalid", "IEXEC_INPUT_FILE_NAME_2 is not set"),
        ("invalid", f"dataset file not found in {iexec_in}"),
    ]


def test_bad_dataset_zip(tmp_path):
    (tmp_path / "empty.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)  # end-of-directory record only
    specs = collect([], {"IEXEC_IN": str(tmp_path), "IEXEC_DATASET_FILENAME": "empty.zip"})
    assert [(s.kind, s.problem) for s in specs] == [("invalid", "the dataset zip holds no files")]


def test_more_than_32_inputs_is_a_usage_error():
    collect([f"https://example.org/{i}.jpg" for i in range(32)], {})
    with pytest.raises(UsageError, match=r"^too many inputs: 33 \(at most 32 per run"):
        collect([f"https://example.org/{i}.jpg" for i in range(33)], {})


def test_dataset_members_count_toward_the_cap(tmp_path):
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as zf:
        for i in range(40):
            zf.writestr(f"{i:02d}.jpg", b"x")
    with pytest.raises(UsageError, match="too many inputs: 40"):
        collect([], {"IEXEC_IN": str(tmp_path), "IEXEC_DATASET_FILENAME": "d.zip"})


def test_bad_input_count_is_a_usage_error():
    with pytest.raises(UsageError, match="IEXEC_INPUT_FILES_NUMBER must be a number"):
        collect([], {"IEXEC_INPUT_FILES_NUMBER": "two"})


def test_no_input_means_the_bundled_sample():
    specs = collect([], {})
    assert [(s.kind, s.source, s.location) for s in specs] == [("file", "sample/astronaut.jpg", str(SAMPLE))]
    assert read_local(specs[0], 10 * 1024 * 1024)[:3] == b"\xff\xd8\xff"


def test_local_reads_are_bounded(tmp_path):
    big = tmp_path / "big.jpg"
    big.write_bytes(b"x" * 101)
    spec = collect([str(big)], {})[0]
    with pytest.raises(InputError, match="^file too large: more than 100 bytes$"):
        read_local(spec, 100)
    assert read_local(spec, 101) == b"x" * 101


def test_devices_and_folders_are_not_read(tmp_path):
    for path, message in (("/dev/zero", "not a regular file"), (str(tmp_path), "not a regular file")):
        with pytest.raises(InputError, match=message):
            read_local(collect([path], {})[0], 100)


def test_zip_member_larger_than_the_cap(tmp_path):
    with zipfile.ZipFile(tmp_path / "d.zip", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("huge.jpg", b"\0" * 10_000)  # compresses to almost nothing: a zip bomb in miniature
    spec = collect([], {"IEXEC_IN": str(tmp_path), "IEXEC_DATASET_FILENAME": "d.zip"})[0]
    with pytest.raises(InputError, match="^file too large: 10000 bytes > limit 1000$"):
        read_local(spec, 1000)


def test_credentials_are_not_repeated():
    assert redact("https://user:secret@example.org/a.jpg?x=1") == "https://***@example.org/a.jpg?x=1"
    assert collect(["https://user:secret@example.org/a.jpg"], {})[0].source == "https://***@example.org/a.jpg"


def test_malformed_urls_are_invalid_inputs_not_a_crash():
    specs = collect(["http://[::1", "http://127.0.0.1:99999/x.jpg"], {})
    assert [(s.kind, s.problem) for s in specs] == [
        ("invalid", "malformed URL (Invalid IPv6 URL)"),
        ("invalid", "malformed URL (Port out of range 0-65535)"),
    ]

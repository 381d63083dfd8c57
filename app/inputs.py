"""Which images one run works on, in a fixed order, and how to read a local one safely.

Order: command-line arguments, then the requester's input files (IEXEC_INPUT_FILE_NAME_n), then
the dataset (an image, or a zip of images expanded in member-name order). Without any input, the
bundled sample photo. Arguments that are neither http(s) URLs nor existing files still count as
inputs, so the requester sees an error line for each rather than a silent skip.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

MAX_INPUTS = 32
DEFAULT_IEXEC_IN = "/iexec_in"
SAMPLE = Path(__file__).parent / "sample" / "astronaut.jpg"
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


class UsageError(Exception):
    """The run cannot start as asked (exit code 2); one-line message."""


class InputError(Exception):
    """One input cannot be read; one-line message."""


@dataclass(frozen=True)
class InputSpec:
    index: int  # 1-based position; also the image id in the COCO results
    source: str  # what the results and messages call it (never an absolute temp path we made up)
    kind: str  # "url", "file", "zip" (a member of the dataset zip) or "invalid"
    location: str = ""  # the URL, the file path, or the zip file's path
    member: str = ""  # the zip member's name
    problem: str = ""  # why an "invalid" input cannot be used


def redact(url: str) -> str:
    """The URL without any user:password part, for messages and results."""
    try:
        parts = urlsplit(url)
    except ValueError:  # malformed (e.g. "http://[::1"): nothing to hide that we could find
        return url
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, "***@" + host, parts.path, parts.query, parts.fragment))


def _from_argument(arg: str) -> tuple[str, str, str, str]:
    """(kind, source, location, problem) of one command-line argument."""
    scheme = _SCHEME.match(arg)
    if scheme and "://" in arg[: len(scheme.group(0)) + 2]:
        name = scheme.group(1).lower()
        if name in ("http", "https"):
            try:
                urlsplit(arg).port  # noqa: B018 - parses host and port, raising on malformed ones
            except ValueError as e:
                return "invalid", redact(arg), "", f"malformed URL ({e})"
            return "url", redact(arg), arg, ""
        return "invalid", redact(arg), "", f"unsupported URL scheme '{name}' (only http and https)"
    if Path(arg).exists():
        return "file", arg, arg, ""
    return "invalid", arg, "", "not an http(s) URL nor an existing file"


def _zip_members(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        names = [
            info.filename
            for info in zf.infolist()
            if not info.is_dir()
            and not info.filename.startswith("__MACOSX/")
            and not Path(info.filename).name.startswith(".")
        ]
    return sorted(names)


def collect(args: list[str], env: Mapping[str, str], max_inputs: int = MAX_INPUTS) -> list[InputSpec]:
    """All inputs of the run; UsageError when there are more than `max_inputs`."""
    found: list[tuple[str, str, str, str, str]] = []  # kind, source, location, member, problem
    for arg in args:
        kind, source, location, problem = _from_argument(arg)
        found.append((kind, source, location, "", problem))

    iexec_in = Path(env.get("IEXEC_IN") or DEFAULT_IEXEC_IN)
    count_text = (env.get("IEXEC_INPUT_FILES_NUMBER") or env.get("IEXEC_NB_INPUT_FILES") or "0").strip()
    if not count_text.isdigit():
        raise UsageError(f"IEXEC_INPUT_FILES_NUMBER must be a number, got {count_text!r}")
    for n in range(1, int(count_text) + 1):
        name = env.get(f"IEXEC_INPUT_FILE_NAME_{n}", "")
        if not name:
            found.append(("invalid", f"input file {n}", "", "", f"IEXEC_INPUT_FILE_NAME_{n} is not set"))
        elif "/" in name or name in (".", ".."):
            found.append(("invalid", name, "", "", "input file name must not contain a path"))
        else:
            found.append(("file", name, str(iexec_in / name), "", ""))

    dataset = env.get("IEXEC_DATASET_FILENAME", "")
    if dataset:
        path = iexec_in / dataset
        if "/" in dataset or not path.is_file():
            found.append(("invalid", dataset, "", "", f"dataset file not found in {iexec_in}"))
        elif zipfile.is_zipfile(path):
            try:
                members = _zip_members(path)
            except (zipfile.BadZipFile, OSError) as e:
                found.append(("invalid", dataset, "", "", f"unreadable dataset zip ({e})"))
            else:
                if not members:
                    found.append(("invalid", dataset, "", "", "the dataset zip holds no files"))
                for member in members:
                    found.append(("zip", f"{dataset}/{member}", str(path), member, ""))
        else:
            found.append(("file", dataset, str(path), "", ""))

    if len(found) > max_inputs:
        raise UsageError(
            f"too many inputs: {len(found)} (at most {max_inputs} per run; split them over several tasks)"
        )
    if not found:
        found.append(("file", f"sample/{SAMPLE.name}", str(SAMPLE), "", ""))
    return [
        InputSpec(index=i, kind=kind, source=source, location=location, member=member, problem=problem)
        for i, (kind, source, location, member, problem) in enumerate(found, start=1)
    ]


def read_local(spec: InputSpec, max_bytes: int) -> bytes:
    """Bytes of a local file or dataset zip member, never more than `max_bytes` read."""
    if spec.kind == "zip":
        try:
            with zipfile.ZipFile(spec.location) as zf:
                info = zf.getinfo(spec.member)
                if info.file_size > max_bytes:
                    raise InputError(f"file too large: {info.file_size} bytes > limit {max_bytes}")
                with zf.open(info) as f:
                    data = f.read(max_bytes + 1)  # the header's size may lie: bound the read itself
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as e:
            raise InputError(f"unreadable zip member ({e})") from None
    else:
        path = Path(spec.location)
        if not path.exists():
            raise InputError("file not found")
        if not path.is_file():
            raise InputError("not a regular file")
        try:
            with path.open("rb") as f:
                data = f.read(max_bytes + 1)
        except OSError as e:
            raise InputError(f"cannot read file ({e.strerror or e})") from None
    if len(data) > max_bytes:
        raise InputError(f"file too large: more than {max_bytes} bytes")
    return data

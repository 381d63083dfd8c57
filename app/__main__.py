"""Entry point of the container: `python -m app [OPTIONS] INPUT...`."""

import os
import sys

from .cli import main

if __name__ == "__main__":
    code = main()
    # Every result file is closed by now; skipping the interpreter's teardown (TensorFlow's thread
    # pools and graph) saves more than a second of a task that the worker times until exit.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

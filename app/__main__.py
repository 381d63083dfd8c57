"""Entry point of the container: `python -m app [OPTIONS] INPUT...`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())

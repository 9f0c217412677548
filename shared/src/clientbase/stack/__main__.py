"""Runs the local stack command line: `python -m clientbase.stack up|down|status|prepare`."""

import sys

from clientbase.stack.cli import main

sys.exit(main())

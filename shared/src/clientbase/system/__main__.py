"""Runs `clientbase-system` as `python -m clientbase.system`."""

import sys

from clientbase.system.cli import main

sys.exit(main())

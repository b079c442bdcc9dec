"""``python -m profiler`` is the headless CLI."""

import sys

from profiler.cli import main

sys.exit(main())

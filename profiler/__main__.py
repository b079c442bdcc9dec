"""``python -m profiler`` is the headless CLI."""

import sys

from profiler.launch import main

sys.exit(main())

"""``python -m reader_agent``: the same as the ``reader-agent`` command."""

import sys

from reader_agent.cli import main

sys.exit(main())

"""``python -m pyroclast.webhook``: the same as ``pyroclast webhook``."""

import sys

from pyroclast.webhook.main import main

sys.exit(main(sys.argv[1:]))

"""``python -m pyroclast.controller``: the same as ``pyroclast controller``."""

import sys

from pyroclast.controller.main import main

sys.exit(main(sys.argv[1:]))

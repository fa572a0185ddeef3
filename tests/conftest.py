"""Test-wide settings.

The tests run the scheduler from its sources (``PYROCLAST_NATIVE=0``, also in the
processes they start), so that they test what they read and may patch it; the compiled
build is compared with the sources in ``tests/integration/scheduler_native``, and the
benchmarks (``make bench``) run it.
"""

import os

os.environ.setdefault("PYROCLAST_NATIVE", "0")

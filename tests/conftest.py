"""Test-wide settings.

The tests run the scheduler from its sources (``PYROCLAST_NATIVE=0``, also in the
processes they start), so that they test what they read and may patch it. The compiled
build is compared with the sources in ``tests/integration/scheduler_native``; the
end-to-end tests start the sandbox as a user does, with the build (``e2e_support``); the
benchmarks (``make bench``) run it too.
"""

import os

os.environ.setdefault("PYROCLAST_NATIVE", "0")

"""A parser worker whose parent is already gone when it starts ends itself at once."""

from __future__ import annotations

import subprocess
import sys
import time


def test_a_worker_started_after_its_parent_died_exits() -> None:
    # The worker is told its parent's pid; here that "parent" (pid 1 is never our parent
    # in a subprocess of the test) is not its parent, as after a SIGKILL during start-up.
    code = (
        "import time\n"
        "from bot.core.ingest.parser import _warm_up\n"
        "_warm_up(parent=1)\n"
        "time.sleep(30)\n"
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], timeout=20, check=False)
    assert done.returncode == 0
    assert time.monotonic() - started < 15

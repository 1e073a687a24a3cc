"""Loaded by every Python process the tests start (``tests/support/hangs.py`` puts this folder on ``PYTHONPATH``).

It lets the test process ask a hung child where it is: on SIGUSR1 the child's C-level faulthandler appends every
thread's stack to ``$OSO_TEST_STACKS_DIR/<pid>.stacks``, without needing the GIL or the child's cooperation
(``PYTHONFAULTHANDLER`` only dumps on fatal signals, and a hang is not one). The file's existence is also how the
test process knows a child registered, so it never sends SIGUSR1 (whose default action is to terminate) to a
process that did not, such as PostgreSQL or node. A forked child registers again under its own pid.
"""

import os

_folder = os.environ.get("OSO_TEST_STACKS_DIR")

if _folder and os.path.isdir(_folder):
    import faulthandler
    import signal

    def _register() -> None:
        try:
            stream = open(os.path.join(_folder, f"{os.getpid()}.stacks"), "a")  # noqa: SIM115 - kept for the process
        except OSError:
            return
        faulthandler.register(signal.SIGUSR1, file=stream, all_threads=True, chain=False)
        globals()["_stream"] = stream  # faulthandler keeps only the fd: the file object must stay alive

    _register()
    os.register_at_fork(after_in_child=_register)

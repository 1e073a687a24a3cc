"""Tiny engine-built sources for the multi-worker tests (``tests/test_workers.py``) and ``bench/topology.py``.

``quick`` replaces a small table; ``slow`` sleeps ``WORKER_TEST_SLEEP`` seconds (leaving a marker file in its
working directory, the worker's copy of the project, so a test can tell which worker runs it) and then appends
three weekly windows in one commit (with ``WORKER_TEST_SLEEP_ONCE`` naming a file, only its first run sleeps);
``limited_a`` / ``limited_b`` share the upstream API ``testapi`` and record
when their load held its slot. None calls a real API.
"""

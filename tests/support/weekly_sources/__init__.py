"""Tiny sources for the weekly pipeline's tests: they follow the ``flows/`` conventions without any real API.

``alpha`` reads ``GET /items`` (served by ``oso_dev.replay`` from ``$OSO_REPLAY_DIR/alpha``) and writes a table;
``beta`` has its own replay hook and writes a table; ``broken`` always fails with a clear error.
Each sleeps ``WEEKLY_TEST_SLEEP`` seconds so the tests can see how many ran at once (beta: ``WEEKLY_TEST_SLEEP_BETA``
when set, cut short once the file ``WEEKLY_TEST_RELEASE_BETA`` exists; and ``WEEKLY_TEST_KILL_BETA``, a marker file,
makes its first load kill its own process, as a dying worker).
"""

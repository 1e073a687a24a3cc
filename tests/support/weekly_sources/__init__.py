"""Tiny sources for the weekly pipeline's tests: they follow the ``flows/`` conventions without any real API.

``alpha`` reads ``GET /items`` (served by ``oso_dev.replay`` from ``$OSO_REPLAY_DIR/alpha``) and writes a table;
``beta`` has its own replay hook and writes a table; ``broken`` always fails with a clear error.
Each sleeps ``WEEKLY_TEST_SLEEP`` seconds so the tests can see how many ran at once.
"""

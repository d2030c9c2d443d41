"""A loopback OpenAI-compatible server for tests and benchmarks.

``server`` holds the server (``FakeConfig``, ``ServerThread``, ``serve_in_thread`` and the
``python -m tests.fake_openai.server`` entry point); ``fixtures`` holds the ``fake_openai``
pytest fixture. Nothing is imported here, so ``python -m`` runs the server module cleanly.
"""

"""A loopback Anthropic Messages API server for tests.

``server`` holds the server (``FakeAnthropicConfig``, ``AnthropicServerThread``,
``serve_in_thread``); ``fixtures`` the shared instance behind the tests' ``fake_anthropic``
fixture. Nothing is imported here, so importing the package costs nothing.
"""

"""A loopback Amazon Bedrock Runtime (Converse API) for tests.

``server`` holds the server (``FakeBedrockConfig``, ``BedrockServerThread``,
``serve_in_thread``); ``fixtures`` holds the ``fake_bedrock`` pytest fixture.
"""

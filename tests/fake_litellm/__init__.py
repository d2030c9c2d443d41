"""Loopback servers for the litellm backend's native routes (an Anthropic Messages endpoint).

``server`` holds the server (``MessagesConfig``, ``MessagesServer``); ``fixtures`` the
``fake_messages`` pytest fixture. Nothing is imported here.
"""

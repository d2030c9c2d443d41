"""A loopback Azure OpenAI resource for tests, composed on the OpenAI fake.

``server`` holds the server (``AzureConfig``, ``AzureServerThread``); ``fixtures`` the
``fake_azure`` pytest fixture. Nothing is imported here.
"""

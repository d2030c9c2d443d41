"""A loopback Gemini API / Vertex AI server for tests: see ``server`` (``GeminiFake``, ``serve_gemini``)."""

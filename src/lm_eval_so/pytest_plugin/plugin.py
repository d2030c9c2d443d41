"""pytest plugin entry point (``pytest11``). The collection and reporting hooks arrive with
the pytest-plugin work; until then this module registers nothing."""

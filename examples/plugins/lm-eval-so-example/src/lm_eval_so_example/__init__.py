"""An example lm-eval-so plugin: the ``reverse`` backend and the ``max_words`` metric."""

__version__ = "0.1.0"

"""The plugin's own tests: lm-eval-so's conformance checks, then behaviour."""

from __future__ import annotations

from lm_eval_so_example.backend import ReverseBackend
from lm_eval_so_example.metric import MaxWords

from lm_eval_so.plugins.testing import check_backend, check_metric, sample


def test_reverse_backend_follows_the_contract() -> None:
    completions = check_backend(ReverseBackend, [sample("abc"), sample("hello world")])
    assert [c.text for c in completions] == ["cba", "dlrow olleh"]


def test_reverse_backend_options() -> None:
    (completion,) = check_backend(ReverseBackend, [sample("abc")], options={"upper": True})
    assert completion.text == "CBA"


def test_max_words_follows_the_contract() -> None:
    cases = [(sample("q"), "one two"), (sample("q"), "one two three four")]
    scores = check_metric(MaxWords, cases, options={"max": 3})
    assert [s.passed for s in scores] == [True, False]
    assert scores[1].detail == {"words": 4, "max": 3}

"""``type: max_words``: passes when the output has at most ``max`` words.

A pass/fail metric that needs no reference answer; its option ``max`` is validated when the
pipeline loads, with the file and line of any mistake.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lm_eval_so.plugins import DatasetSample, Metric, MetricScore, RunResult


class MaxWordsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max: int = Field(50, ge=1, description="Most words an answer may have.")


class MaxWords(Metric):
    name = "max_words"
    Options = MaxWordsOptions
    binary = True
    requires_expected = False

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        assert isinstance(self.options, MaxWordsOptions)
        words = len((result.output or "").split())
        passed = words <= self.options.max
        return MetricScore(float(passed), passed, {"words": words, "max": self.options.max})

"""Reference-overlap metrics: ``bleu`` and ``chrf`` (sacrebleu), ``rouge`` (rouge-score).

Scores are on 0..1 (sacrebleu's 0..100 divided by 100) so thresholds read the same for every
metric. Each needs the extra ``[metrics]``; the packages are imported on first use.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...common.records import DatasetSample, RunResult
from .base import Metric, MetricScore
from .extras import missing, require


class _Continuous(Metric):
    binary: ClassVar[bool] = False
    package: ClassVar[str] = "sacrebleu"

    @classmethod
    def check_at_load(cls, options: BaseModel, base_dir: Path) -> Iterable[tuple[str, str]]:
        """The package that computes the score is installed."""
        problem = missing(cls.package, "metrics", cls.name)
        return [("type", problem)] if problem else []


class BleuOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tokenize: str = Field("13a", description="sacrebleu tokenizer: 13a, intl, char, zh, ...")
    lowercase: bool = Field(False, description="Compare lowercased text.")


class Bleu(_Continuous):
    """Sentence BLEU (sacrebleu, smoothed with exp) against all expected answers as references."""

    name: ClassVar[str] = "bleu"
    Options = BleuOptions
    options: BleuOptions

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._scorer: Any = None

    @classmethod
    def check_at_load(cls, options: BaseModel, base_dir: Path) -> Iterable[tuple[str, str]]:
        """sacrebleu is installed and knows the tokenizer."""
        problems = list(super().check_at_load(options, base_dir))
        if problems or not isinstance(options, BleuOptions):
            return problems
        known = getattr(require("sacrebleu.metrics", "metrics", "bleu").BLEU, "TOKENIZERS", None)
        if known is not None and options.tokenize not in known:
            return [
                ("tokenize", f"unknown tokenizer {options.tokenize!r}; sacrebleu has: {', '.join(known)}")
            ]
        return []

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        if self._scorer is None:
            sacrebleu = require("sacrebleu", "metrics", "bleu")
            self._scorer = sacrebleu.metrics.BLEU(
                tokenize=self.options.tokenize, lowercase=self.options.lowercase, effective_order=True
            )
        got = self._scorer.sentence_score(result.output or "", sample.expected_list())
        return MetricScore(got.score / 100, None, {"bleu": round(got.score, 4)})


class ChrfOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    word_order: int = Field(0, ge=0, le=2, description="0: chrF, 2: chrF++.")


class Chrf(_Continuous):
    """Sentence chrF (or chrF++ with ``word_order: 2``) against the expected answers."""

    name: ClassVar[str] = "chrf"
    Options = ChrfOptions
    options: ChrfOptions

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._scorer: Any = None

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        if self._scorer is None:
            sacrebleu = require("sacrebleu", "metrics", "chrf")
            self._scorer = sacrebleu.metrics.CHRF(word_order=self.options.word_order)
        got = self._scorer.sentence_score(result.output or "", sample.expected_list())
        return MetricScore(got.score / 100, None, {"chrf": round(got.score, 4)})


class RougeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variant: Literal["rouge1", "rouge2", "rougeL", "rougeLsum"] = Field(
        "rougeL", description="rouge1, rouge2, rougeL or rougeLsum."
    )
    use_stemmer: bool = Field(True, description="Porter-stem words before matching.")


class Rouge(_Continuous):
    """ROUGE F-measure (rouge-score) against the best-matching expected answer."""

    name: ClassVar[str] = "rouge"
    Options = RougeOptions
    options: RougeOptions
    package: ClassVar[str] = "rouge_score"

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._scorer: Any = None

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        if self._scorer is None:
            rouge_scorer = require("rouge_score.rouge_scorer", "metrics", "rouge")
            self._scorer = rouge_scorer.RougeScorer(
                [self.options.variant], use_stemmer=self.options.use_stemmer
            )
        variant, output = self.options.variant, result.output or ""
        best = max(
            (self._scorer.score(ref, output)[variant] for ref in sample.expected_list()),
            key=lambda s: s.fmeasure,
        )
        detail = {"precision": round(best.precision, 6), "recall": round(best.recall, 6)}
        return MetricScore(best.fmeasure, None, detail)

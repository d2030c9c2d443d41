"""Shards: run I of N of one pipeline, chosen by a stable hash of (sample id, repeat).

    lm-eval-so run pipeline.yaml --shard 2/4       # shard 2 of 4 (0-based)
    lm-eval-so run pipeline.yaml --shard auto/4    # index from JOB_COMPLETION_INDEX (Kubernetes)
    lm-eval-so run pipeline.yaml --shard auto      # index and count from Slurm's array variables

Every (sample, repeat) pair belongs to exactly one shard: ``sha256("<repeat>:<sample id>")``
modulo N. The assignment depends on nothing but the pair and N -- not on row order, the machine,
the Python process (``hash()`` is salted per process) or the other shards -- so N machines that
never talk to each other split a dataset without overlap or gap, and ``lm-eval-so merge``
checks the pieces by the same rule.

A *shard group* is what the shards of one run have in common: the config hash, the dataset's
content hash and N. Shards of different groups never merge.

Kept free of heavy imports: the pytest plugin parses ``--lm-eval-shard`` at start-up.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ConfigError

#: Kubernetes Indexed Job: the pod's completion index (0-based). The count is not in the
#: environment: give it (``--shard auto/N``), it is the Job's ``completions``.
K8S_INDEX = "JOB_COMPLETION_INDEX"
#: Slurm job arrays: this task's id, the number of tasks, the lowest id and the id step.
SLURM_INDEX = "SLURM_ARRAY_TASK_ID"
SLURM_COUNT = "SLURM_ARRAY_TASK_COUNT"
SLURM_MIN = "SLURM_ARRAY_TASK_MIN"
SLURM_STEP = "SLURM_ARRAY_TASK_STEP"

#: The reason every gate of a shard gives when it is skipped (pytest) or not evaluated (CLI).
GATES_BY_MERGE = "gates are evaluated by lm-eval-so merge"


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based); ``source`` names the variable the index came from."""

    index: int
    count: int
    source: str | None = None

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ConfigError(f"--shard {self.index}/{self.count}: the number of shards must be at least 1")
        if not 0 <= self.index < self.count:
            raise ConfigError(
                f"--shard {self.index}/{self.count}: the index must be 0 to {self.count - 1} "
                "(shards are numbered from 0)"
            )

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, sample_id: str, repeat: int) -> bool:
        """Whether the pair (``sample_id``, ``repeat``) is this shard's to run."""
        return shard_of(sample_id, repeat, self.count) == self.index

    def skip_reason(self) -> str:
        return f"shard {self}: {GATES_BY_MERGE}"


def shard_of(sample_id: str, repeat: int, count: int) -> int:
    """The shard (0..count-1) that runs ``sample_id``'s attempt ``repeat``.

    The first 8 bytes of ``sha256("<repeat>:<sample id>")`` as an unsigned integer, modulo
    ``count``. The repeat comes first and is digits only, so no two pairs share a key.
    """
    if count == 1:
        return 0
    digest = hashlib.sha256(f"{repeat}:{sample_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def shard_group(config_hash: str, dataset_hash: str, count: int) -> str:
    """The id of the shards that merge together: same config, same dataset, same N."""
    blob = f"{config_hash}\n{dataset_hash}\n{count}".encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def parse_shard(text: str, env: Mapping[str, str] | None = None) -> Shard:
    """``I/N``, ``auto/N`` or ``auto`` (see the module docstring) as a :class:`Shard`.

    ``auto`` reads ``JOB_COMPLETION_INDEX`` (Kubernetes; N must then be given) or
    ``SLURM_ARRAY_TASK_ID`` with ``SLURM_ARRAY_TASK_COUNT`` (Slurm; the id is counted from
    ``SLURM_ARRAY_TASK_MIN`` in steps of ``SLURM_ARRAY_TASK_STEP``, so ``--array=1-4`` works).
    Every mistake is a :class:`ConfigError` naming the option and, for ``auto``, the variables.
    """
    environ = os.environ if env is None else env
    spec = text.strip()
    index_text, sep, count_text = spec.partition("/")
    if index_text.strip().lower() != "auto":
        if not sep:
            raise ConfigError(f"--shard {text}: expected I/N (e.g. 0/4), auto/N or auto")
        return Shard(_whole(index_text, text, "index"), _whole(count_text, text, "count"))
    count = _whole(count_text, text, "count") if sep else None
    return _auto(text, count, environ)


def _auto(text: str, count: int | None, env: Mapping[str, str]) -> Shard:
    k8s, slurm = env.get(K8S_INDEX, "").strip(), env.get(SLURM_INDEX, "").strip()
    if k8s and slurm:
        raise ConfigError(
            f"--shard {text}: both {K8S_INDEX} (Kubernetes) and {SLURM_INDEX} (Slurm) are set, "
            "so the shard index is ambiguous; give it explicitly: --shard I/N"
        )
    if k8s:
        if count is None:
            raise ConfigError(
                f"--shard {text}: {K8S_INDEX} gives the index but Kubernetes does not tell the "
                "number of shards; give it: --shard auto/N (N = the Job's completions)"
            )
        index = _env_int(env, K8S_INDEX, text)
        return _from_env(text, index, count, K8S_INDEX, f"{K8S_INDEX}={index}")
    if slurm:
        return _slurm(text, count, env)
    raise ConfigError(
        f"--shard {text}: neither {K8S_INDEX} (Kubernetes Indexed Job) nor {SLURM_INDEX} with "
        f"{SLURM_COUNT} (Slurm job array) is set; run inside one of those, or give the shard "
        "explicitly: --shard I/N"
    )


def _slurm(text: str, count: int | None, env: Mapping[str, str]) -> Shard:
    task = _env_int(env, SLURM_INDEX, text)
    low = _env_int(env, SLURM_MIN, text) if env.get(SLURM_MIN, "").strip() else 0
    step = _env_int(env, SLURM_STEP, text) if env.get(SLURM_STEP, "").strip() else 1
    if step < 1 or task < low or (task - low) % step:
        raise ConfigError(
            f"--shard {text}: {SLURM_INDEX}={task} is not in the array "
            f"({SLURM_MIN}={low}, {SLURM_STEP}={step})"
        )
    index = (task - low) // step
    announced = _env_int(env, SLURM_COUNT, text) if env.get(SLURM_COUNT, "").strip() else None
    if count is None:
        if announced is None:
            raise ConfigError(
                f"--shard {text}: {SLURM_INDEX} is set but {SLURM_COUNT} is not; "
                "give the number of shards: --shard auto/N"
            )
        count = announced
    elif announced is not None and announced != count:
        raise ConfigError(
            f"--shard {text}: the Slurm array has {announced} tasks ({SLURM_COUNT}) but the "
            f"option says {count} shards; make them agree"
        )
    return _from_env(text, index, count, SLURM_INDEX, f"{SLURM_INDEX}={task} gives shard {index}")


def _from_env(text: str, index: int, count: int, source: str, what: str) -> Shard:
    if count >= 1 and index >= count:
        raise ConfigError(f"--shard {text}: {what}, but there are only {count} shards (0 to {count - 1})")
    return Shard(index, count, source)


def _whole(value: str, text: str, what: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ConfigError(f"--shard {text}: the {what} is not a whole number ({value.strip()!r})") from None
    if number < 0:
        raise ConfigError(f"--shard {text}: the {what} cannot be negative ({number})")
    return number


def _env_int(env: Mapping[str, str], name: str, text: str) -> int:
    value = env.get(name, "").strip()
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"--shard {text}: {name}={value!r} is not a whole number") from None
    if number < 0:
        raise ConfigError(f"--shard {text}: {name}={number} cannot be negative")
    return number

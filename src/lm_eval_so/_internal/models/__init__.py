"""The one place that calls a model, used by the runner and by the judge alike.

    base.py      the backend contract: Request, Completion, BackendContext, Backend, check_answer
    lookup.py    get_backend(config, base_dir, seed) -> Backend: the typed registry lookup
    call.py      call_model(): deadline, retries with backoff or Retry-After, attempts, timing
    retry.py     what is retried and how long to wait
    http.py      JSON over HTTP with aiohttp (pooled, proxies, gzip, TLS)
    usage.py     parse_usage(): the one reader of token usage
    pricing.py   the price table, cost_of() / cost_for(): the one cost function and "unknown" rule
    backends/    the built-in backends: openai (+ openai_reply.py), llamacpp, python

Imports only ``common``. Plugin authors use :mod:`lm_eval_so.plugins`, which re-exports the
contract; this package is internal.
"""

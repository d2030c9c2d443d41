"""Internal modules: everything here may change without notice.

The public API is :mod:`lm_eval_so` (its ``__all__``) and :mod:`lm_eval_so.plugins`.
"""

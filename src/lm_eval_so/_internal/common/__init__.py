"""Shared kernel: config, records, workspace, registry, errors. Imports no layer."""

"""Prefect tasks: one module per stage. Each is the library stage plus orchestration
concerns (caching, retries, UI artifacts, lineage), never stage logic."""

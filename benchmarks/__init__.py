"""Benchmarks for the paperboy store (synthetic corpus + ingest/query timings)."""

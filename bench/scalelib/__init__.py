"""Helpers of bench/scale.py: generate (the dataset), pages (page timings), load (gunicorn throughput)."""

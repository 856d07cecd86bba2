"""One timed GET loop for the page benchmarks run as scripts (`python bench/<name>.py`)."""

import statistics
import time


def time_get(client, url: str, requests: int, warmups: int = 3):
    """(p50 ms, p95 ms, captured queries of one more request) for `url` with a logged-in test client."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmups):
        assert client.get(url).status_code == 200, url
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], queries

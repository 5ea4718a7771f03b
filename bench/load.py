"""Load generators: wrk when it is installed, else a small threaded Python client.

Both return the same Result, so the report does not care which one ran.
"""

from __future__ import annotations

import http.client
import itertools
import re
import shutil
import statistics
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: Counter[str] = field(default_factory=Counter)
    tool: str = "python"

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(url: str, headers: dict[str, str], *, seconds: int, connections: int) -> Result:
    """One bounded wrk run: a single thread, so it leaves a core to the server's workers."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(  # noqa: S603 (wrk, with arguments we built)
        command, capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    elapsed = re.search(r"requests in ([\d.]+)(us|ms|s|m)", out)
    assert elapsed is not None, out
    duration = (
        float(elapsed.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[elapsed.group(2)]
    )
    p50 = re.search(r"50%\s+([\d.]+(?:us|ms|s))", out)
    p99 = re.search(r"99%\s+([\d.]+(?:us|ms|s))", out)
    assert p50 and p99, out
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    bad = int(non_2xx.group(1)) if non_2xx else 0
    statuses = Counter({"2xx/3xx": total - bad, "other": bad})
    return Result(total, duration, _ms(p50.group(1)), _ms(p99.group(1)), statuses, "wrk")


def python_load(
    url: str,
    headers_for: Callable[[int], dict[str, str]],
    *,
    concurrency: int,
    seconds: float | None = None,
    total: int | None = None,
) -> Result:
    """Threads sending requests, a new connection each (gunicorn's sync workers close them).

    Stops after ``seconds`` or after ``total`` requests, whichever is given;
    ``headers_for(n)`` gives the n-th request's headers, so each can differ.
    """
    parts = urlsplit(url)
    counter = itertools.count()
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + seconds if seconds is not None else None

    def worker() -> None:
        while True:
            n = next(counter)
            if (total is not None and n >= total) or (
                deadline is not None and time.perf_counter() >= deadline
            ):
                return
            begin = time.perf_counter()
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            connection.request("GET", parts.path, headers=headers_for(n))
            response = connection.getresponse()
            response.read()
            connection.close()
            took = (time.perf_counter() - begin) * 1000
            with lock:
                latencies.append(took)
                statuses[str(response.status)] += 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return Result(len(latencies), elapsed, *percentiles(latencies), statuses)


def percentiles(latencies: Sequence[float]) -> tuple[float, float]:
    if len(latencies) < 2:
        value = latencies[0] if latencies else 0.0
        return value, value
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49], cuts[98]

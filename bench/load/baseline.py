"""One person alone: median time of each page over a few requests (``baseline.py URL``).

Printed before the load, so the table under load can be read against what
the code costs when nothing else runs.
"""

from __future__ import annotations

import re
import statistics
import sys
import time

import requests

REPEAT = 10


def login(base: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = session.post(f"{base}/login", data={"username": username, "password": "jiedian-demo", "csrf_token": token},
                            allow_redirects=False, timeout=30)
    response.raise_for_status()
    return session


def median_ms(session: requests.Session, url: str) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(REPEAT):
        start = time.perf_counter()
        response = session.get(url, timeout=30)
        times.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
        size = len(response.content)
    return statistics.median(times), size


def main(base: str) -> None:
    staff, supervisor = login(base, "staff"), login(base, "supervisor")
    own = staff.get(f"{base}/boards", allow_redirects=False, timeout=30).headers["Location"]
    board = staff.get(base + own, timeout=30).text
    node = re.search(r'data-node-id="(\d+)"', board).group(1)
    pages = [
        ("board (own unit)", staff, base + own),
        ("board (largest unit)", supervisor, f"{base}/units/1/board"),
        ("node page", staff, f"{base}/nodes/{node}"),
        ("rankings (week)", supervisor, f"{base}/rankings?period=week"),
        ("rankings (quarter)", supervisor, f"{base}/rankings?period=quarter"),
    ]
    print(f"alone, median of {REPEAT}:")
    for name, session, url in pages:
        ms, size = median_ms(session, url)
        print(f"  {name:<22}{ms:7.0f} ms {size // 1024:5d} KB")


if __name__ == "__main__":
    main(sys.argv[1])

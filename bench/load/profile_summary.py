"""Where the web processes spent their time: ``profile_summary.py STACKS`` (py-spy's raw, collapsed format).

Prints the share of request samples spent in (inclusive) the portal's views
and a few telling layers: waiting for PostgreSQL, rendering templates,
SQLAlchemy's ORM, password hashing.
"""

from __future__ import annotations

import re
import sys
from collections import Counter

LAYERS = {
    "waiting for PostgreSQL (psycopg)": re.compile(r"psycopg/(connection|cursor|_cursor_base)\.py"),
    "rendering templates (Jinja)": re.compile(r"jinja2/environment\.py.*\(render\)|Template\.render"),
    "SQLAlchemy ORM loading": re.compile(r"sqlalchemy/orm/loading\.py"),
    "password hashing (login)": re.compile(r"hashlib|scrypt"),
}
VIEW = re.compile(r"^(\w+) \((portal/[\w/]+views\.py):\d+\)$")


def main(path: str) -> None:
    total, layers, views = 0, Counter(), Counter()
    with open(path, encoding="utf-8") as fh:
        lines = fh.readlines()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        frames = stack.split(";")
        if not any("wsgi_app" in f for f in frames):
            continue  # idle threads, the arbiter
        n = int(count)
        total += n
        for name, pattern in LAYERS.items():
            if any(pattern.search(f) for f in frames):
                layers[name] += n
        seen = {f"{m.group(2)}:{m.group(1)}" for f in frames if (m := VIEW.match(f.strip()))}
        for view in seen:
            views[view] += n
    if not total:
        print("profile: no request samples")
        return
    print(f"profile: {total} samples inside requests")
    for name, n in layers.most_common():
        print(f"  {100 * n / total:5.1f}%  {name}")
    print("  by view:")
    for view, n in views.most_common(8):
        print(f"  {100 * n / total:5.1f}%  {view}")


if __name__ == "__main__":
    main(sys.argv[1])

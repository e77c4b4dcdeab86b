"""Print the load test's figures per request type from locust's CSV (``report.py WORKDIR``)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

TARGET_P99_MS = 250


def main(work: Path) -> int:
    with (work / "load_stats.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    conflicts = {}
    if (work / "conflicts.json").exists():
        conflicts = json.loads((work / "conflicts.json").read_text())
    print(f"{'request':<22}{'count':>8}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    total = None
    for row in rows:
        line = (f"{row['Name'][:21]:<22}{row['Request Count']:>8}{row['Failure Count']:>8}"
                f"{float(row['Requests/s']):>9.1f}{row['50%']:>9}{row['95%']:>9}{row['99%']:>9}"
                f"{float(row['Max Response Time']):>9.0f}")
        if row["Name"] == "Aggregated":
            total = row
            print("-" * 83)
        print(line)
    if total is None:
        print("load: locust recorded nothing", file=sys.stderr)
        return 1
    if conflicts.get("moves"):
        print(f"moves: {conflicts['moves']}, of which {conflicts['conflicts']} were genuine version conflicts (409, not errors)")
    failures = work / "load_failures.csv"
    if failures.exists():
        with failures.open() as fh:
            for row in csv.DictReader(fh):
                print(f"error: {row['Method']} {row['Name']}: {row['Error']} x{row['Occurrences']}")
    errors, p99 = int(total["Failure Count"]), int(total["99%"])
    verdict = "met" if errors == 0 and p99 <= TARGET_P99_MS else "NOT met"
    print(f"throughput {float(total['Requests/s']):.1f} req/s, p50 {total['50%']} ms, p95 {total['95%']} ms, "
          f"p99 {p99} ms, errors {errors}: target (0 errors, p99 <= {TARGET_P99_MS} ms) {verdict}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))

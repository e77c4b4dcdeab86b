"""Backup and restore (``flask backup`` / ``flask restore``): one portable archive.

An archive is a gzip-compressed tar holding

- ``db/<table>.jsonl``: every row of every table, one JSON object per line,
  the tables in foreign-key dependency order;
- ``files/evidence/…`` and ``files/documents/…``: ``EVIDENCE_DIR`` and
  ``DOCUMENT_DIR`` as stored (evidence under random names, published PDFs
  under their SHA-256);
- ``manifest.json``, last: format and version, the schema's Alembic revision,
  the source database, row counts, and the size and SHA-256 of every other
  member.

Rows go through SQLAlchemy's table metadata, never through a database's own
dump format, so an archive written from SQLite restores into PostgreSQL and
the other way round (a county moving from its first SQLite server to
PostgreSQL takes one backup and one restore). Tables and files are streamed:
memory use does not grow with the size of the database.

A restore verifies every checksum before it writes anything, refuses a target
that already holds data or sits at another schema revision, then inserts all
rows in one transaction (the audit log's triggers refuse UPDATE and DELETE,
not INSERT) and moves the files into place just before the commit: it either
restores everything or leaves the target as it found it. The checksums detect
damage and careless edits; they are not a signature: keep archives where only
the operators can write.
"""

from portal.ops.backup.archive import MANIFEST as MANIFEST
from portal.ops.backup.archive import BackupError as BackupError
from portal.ops.backup.archive import verify as verify
from portal.ops.backup.dump import BackupSummary as BackupSummary
from portal.ops.backup.dump import backup as backup
from portal.ops.backup.load import RestoreSummary as RestoreSummary
from portal.ops.backup.load import restore as restore

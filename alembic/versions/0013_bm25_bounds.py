"""BM25 matches the postings of a query's common terms against the other terms' chunks, rather
than scoring them one by one, when their chunks cannot reach the top: at 1M synthetic chunks its
median time over 200 queries is 0.58 of revision 0008's function (14.6 against 25.4 ms, side by
side on one database), p95 and p99 unchanged, the same rankings (BENCHMARKS.md).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

The SQL and why it gives the same rankings are in 0013_bm25_bounds.sql. The upgrade recounts
the statistics (they gain each lexeme's bounds: 32 s at 1M synthetic chunks). The downgrade puts
back revision 0010's statistics and revision 0008's hfsearch_bm25 (read from 0008_postings.sql)
with revision 0009's row estimate.
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

from hfsearch.migrations import function_in_revision

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HERE = Path(__file__).parent

REFRESH_STATS_0010 = """
CREATE OR REPLACE FUNCTION hfsearch_refresh_stats() RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    DELETE FROM lexeme_stats;
    INSERT INTO lexeme_stats (lexeme, chunks)
        SELECT lexeme, count(*) FROM postings GROUP BY lexeme;
    DELETE FROM corpus_stats;
    INSERT INTO corpus_stats (chunks, average_tokens)
        SELECT count(*), coalesce(avg(token_count), 0) FROM chunks;
END;
"""


def upgrade() -> None:
    op.execute((HERE / "0013_bm25_bounds.sql").read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute(REFRESH_STATS_0010)
    op.execute(function_in_revision(HERE / "0008_postings.sql", "hfsearch_bm25"))
    op.execute("ALTER FUNCTION hfsearch_bm25 ROWS 100")
    op.execute("DROP FUNCTION hfsearch_bm25_term")
    op.execute("DROP FUNCTION hfsearch_probed")
    op.execute("DROP FUNCTION hfsearch_split_pays")
    op.execute("DROP TRIGGER postings_mark_bounds_stale ON postings")
    op.execute("DROP FUNCTION hfsearch_mark_bounds_stale")
    op.execute("ALTER TABLE corpus_stats DROP COLUMN bounds_current")
    op.execute(
        "ALTER TABLE lexeme_stats DROP COLUMN max_occurrences,"
        " DROP COLUMN max_title_occurrences, DROP COLUMN min_token_count"
    )

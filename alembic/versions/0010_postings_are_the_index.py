"""The postings are the full-text index: the GIN index on chunks goes, lexemes sort in byte
order, and BM25's document frequencies are counted from the postings.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

Since revision 0008 nothing of hfsearch reads the GIN index on chunks.search_vector, yet a
bulk load built it (57 s and 459 MB at 1M synthetic chunks, BENCHMARKS.md). A query that
wants `search_vector @@ ...` in psql can still create one.

Lexemes are compared byte by byte (COLLATE "C"): they are only ever looked up by equality,
and under the database's collation (C.UTF-8 or en_US.UTF-8: strcoll, no abbreviated keys)
sorting a bulk load's postings for their index was slower: at 100k synthetic chunks, 13.9 and
16.8 s against 9.7 and 13.6 s in "C" (psql, one build each, on a noisy machine).

hfsearch_refresh_stats() counts each lexeme's chunks from the postings (one row per lexeme
and chunk, kept by triggers) rather than parsing every stored document again with ts_stat.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Dropped and created again around the collation change: its body (BEGIN ATOMIC) depends on
# lexeme_stats.lexeme. So its grants are given again too (revision 0003's).
REFRESH_STATS = """
CREATE FUNCTION hfsearch_refresh_stats() RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    DELETE FROM lexeme_stats;
    INSERT INTO lexeme_stats (lexeme, chunks)
        SELECT {document_frequencies};
    DELETE FROM corpus_stats;
    INSERT INTO corpus_stats (chunks, average_tokens)
        SELECT count(*), coalesce(avg(token_count), 0) FROM chunks;
END;
REVOKE EXECUTE ON FUNCTION hfsearch_refresh_stats FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hfsearch_refresh_stats TO hfsearch_writer;
"""


def upgrade() -> None:
    op.execute("DROP INDEX ix_chunks_search_vector")
    op.execute("DROP FUNCTION hfsearch_refresh_stats")
    op.execute('ALTER TABLE postings ALTER COLUMN lexeme TYPE text COLLATE "C"')
    op.execute('ALTER TABLE lexeme_stats ALTER COLUMN lexeme TYPE text COLLATE "C"')
    op.execute(
        REFRESH_STATS.format(document_frequencies="lexeme, count(*) FROM postings GROUP BY lexeme")
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION hfsearch_refresh_stats")
    op.execute('ALTER TABLE lexeme_stats ALTER COLUMN lexeme TYPE text COLLATE "default"')
    op.execute('ALTER TABLE postings ALTER COLUMN lexeme TYPE text COLLATE "default"')
    op.execute(
        REFRESH_STATS.format(
            document_frequencies="word, ndoc FROM ts_stat('SELECT search_vector FROM chunks')"
        )
    )
    op.execute("CREATE INDEX ix_chunks_search_vector ON chunks USING gin (search_vector)")

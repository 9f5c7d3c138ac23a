"""A hit whose text holds none of the query's words gets the start of its text as its snippet,
as a query with no words gives, without parsing the text: `ts_headline` found nothing to mark
in it and returned its first six words. Figures in BENCHMARKS.md.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06

`ts_headline` parses the whole chunk, about 0.14 ms for a chunk of 1,600 characters (ten
chunks: 1.49 ms, of a hybrid search of 7.94 at 100k synthetic chunks; `ts_parse` alone 1.43).
The stored `search_vector` already says whether the text holds a query word: the text's
lexemes are its weight-B ones (the title's are A, `hfsearch_document`), and `ts_filter` keeps
those. In the harness's hybrid searches at 100k, 920 of the 2,000 hits held none of the query's
words (vector hits: the synthetic texts and vectors are drawn apart); on the real sample with
all-MiniLM-L6-v2, 76 of the 540 hits of the 54 queries in data/queries-dev.jsonl.
"""

from collections.abc import Sequence

from alembic import op

from hfsearch.migrations import replace_in_function

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVERY_HIT_PARSED = """
           CASE WHEN highlight IS NULL THEN left(c.text, 200)
                ELSE ts_headline('english', c.text, highlight,
"""
MATCHING_HITS_PARSED = """
           -- Text with none of the query's words (no weight-B lexeme of the query) starts the
           -- snippet as if the query had no words: parsing it would find nothing to mark.
           CASE WHEN highlight IS NULL OR NOT ts_filter(c.search_vector, '{b}') @@ highlight
                THEN left(c.text, 200)
                ELSE ts_headline('english', c.text, highlight,
"""


def upgrade() -> None:
    replace_in_function(op.get_bind(), "hfsearch_search", EVERY_HIT_PARSED, MATCHING_HITS_PARSED)


def downgrade() -> None:
    replace_in_function(op.get_bind(), "hfsearch_search", MATCHING_HITS_PARSED, EVERY_HIT_PARSED)

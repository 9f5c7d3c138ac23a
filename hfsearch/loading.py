"""Loading checked records into PostgreSQL: COPY into staging tables, then upsert.

One load is one transaction: a failure anywhere leaves the database as it was. A post in
the load is made to hold exactly the chunks the load gives it: chunks whose text is
unchanged keep their id and vectors, new ones are added, ones no longer there are removed.
Posts the load does not mention are left alone. Loading the same data again writes no row.

A bulk load (more new chunks than the table holds, and at least `bulk_threshold`) drops
the secondary indexes it would otherwise update row by row and builds them again at the
end, from their own definitions, which is several times faster; while it runs, readers of
these tables wait.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from psycopg import sql

from hfsearch import locks
from hfsearch.database import Connection
from hfsearch.errors import ModelMismatchError
from hfsearch.schema import hnsw_index_name
from hfsearch.validation import ChunkRecord, PostRecord
from hfsearch.vectors import ensure_hnsw_index, ensure_model

ProgressCallback = Callable[[int], None]

DEFAULT_BULK_THRESHOLD = 10_000


@dataclass(frozen=True)
class LoadResult:
    rows: int
    posts_added: int = 0
    posts_updated: int = 0
    chunks_added: int = 0
    chunks_updated: int = 0
    chunks_removed: int = 0
    vectors_written: int = 0
    vectors_model: str | None = None
    indexes_built: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(
            (
                self.posts_added,
                self.posts_updated,
                self.chunks_added,
                self.chunks_updated,
                self.chunks_removed,
                self.vectors_written,
            )
        )


def default_vectors_model(dimensions: int) -> str:
    """The name under which a data set's vectors are stored when nobody names their model."""
    return f"dataset:unknown-{dimensions}"


def load_records(
    conn: Connection,
    records: Iterable[ChunkRecord],
    *,
    vectors_model: str | None = None,
    maintenance_work_mem: str = "1GB",
    bulk_threshold: int = DEFAULT_BULK_THRESHOLD,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Load records in one transaction; vectors (if any) go under `vectors_model`.

    `records` is read once, each record written to a staging table as it comes: it may be
    a stream (`validation.validated`) that raises after its last row, which rolls back
    everything.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (locks.LOAD,))
        conn.execute("SELECT set_config('maintenance_work_mem', %s, true)", (maintenance_work_mem,))
        staged = _stage(conn, records, progress)
        if staged.dimensions is not None and vectors_model is None:
            vectors_model = default_vectors_model(staged.dimensions)
        model_id = (
            ensure_model(conn, vectors_model, staged.dimensions)
            if vectors_model is not None and staged.dimensions is not None
            else None
        )
        deferred = _defer_indexes_if_bulk(conn, model_id, bulk_threshold)
        result = _upsert(conn, staged.rows, model_id, staged.dimensions, vectors_model)
        built = _rebuild(conn, deferred)
        if model_id is not None:
            built += ensure_hnsw_index(conn, model_id)
        if result.changed:
            conn.execute("SELECT hfsearch_refresh_stats()")  # BM25's term statistics
            conn.execute("ANALYZE posts, chunks, postings, embeddings")
    return replace(result, indexes_built=built)


STAGING_TABLES = """
CREATE TEMPORARY TABLE load_posts (
    slug text PRIMARY KEY, title text, url text, published_on date,
    authors text[], tags text[]
) ON COMMIT DROP;
CREATE TEMPORARY TABLE load_chunks (
    row_number integer, slug text, position integer, text text,
    content_hash bytea, embedding vector
) WITH (toast_tuple_target = 8160) ON COMMIT DROP;
"""
# toast_tuple_target: a staged row (text and vector, about 4 kB) is read once, by the upsert;
# kept whole, it is not moved out of line and back first (revision 0016 does the same for
# embeddings).


@dataclass(frozen=True)
class _Staged:
    rows: int
    dimensions: int | None  # of the vectors, if the records have any


def _stage(
    conn: Connection, records: Iterable[ChunkRecord], progress: ProgressCallback | None
) -> _Staged:
    conn.execute(STAGING_TABLES)
    posts: dict[str, PostRecord] = {}
    lengths: set[int] = set()
    rows = 0
    with conn.cursor() as cur:
        with cur.copy(
            "COPY load_chunks (row_number, slug, position, text, content_hash, embedding)"
            " FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["integer", "text", "integer", "text", "bytea", "vector"])
            for record in records:
                copy.write_row(
                    (
                        record.row,
                        record.post.slug,
                        record.position,
                        record.text,
                        record.content_hash,
                        record.embedding,
                    )
                )
                posts.setdefault(record.post.slug, record.post)
                if record.embedding is not None:
                    lengths.add(len(record.embedding))
                rows += 1
                if progress is not None and rows % 1000 == 0:
                    progress(1000)
        if progress is not None:
            progress(rows % 1000)
        if len(lengths) > 1:
            raise ModelMismatchError(f"vectors of several lengths in one load: {sorted(lengths)}")
        with cur.copy(
            "COPY load_posts (slug, title, url, published_on, authors, tags)"
            " FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["text", "text", "text", "date", "text[]", "text[]"])
            for post in posts.values():
                copy.write_row(
                    # psycopg dumps lists, not tuples, as arrays
                    (
                        post.slug,
                        post.title,
                        post.url,
                        post.published_on,
                        [*post.authors],
                        [*post.tags],
                    )
                )
    conn.execute("CREATE INDEX ON load_chunks (slug, content_hash)")
    conn.execute("ANALYZE load_posts, load_chunks")
    return _Staged(rows, lengths.pop() if lengths else None)


@dataclass(frozen=True)
class _DeferredIndex:
    name: str
    definition: str


# Secondary indexes a bulk load rebuilds: everything on chunks but the keys the upsert needs,
# the postings' index, and the target model's vector index.
DEFERRABLE_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i
WHERE (i.indrelid IN ('chunks'::regclass, 'postings'::regclass)
       AND NOT i.indisunique AND NOT i.indisprimary)
   OR i.indexrelid = to_regclass(%(hnsw_index)s)
"""

COUNT_NEW_CHUNKS = """
SELECT
    (SELECT count(*) FROM load_chunks r
     WHERE NOT EXISTS (
         SELECT 1 FROM chunks c JOIN posts p ON p.id = c.post_id
         WHERE p.slug = r.slug AND c.content_hash = r.content_hash)),
    (SELECT count(*) FROM chunks)
"""


def _defer_indexes_if_bulk(
    conn: Connection, model_id: int | None, bulk_threshold: int
) -> list[_DeferredIndex]:
    counts = conn.execute(COUNT_NEW_CHUNKS).fetchone()
    assert counts is not None
    new_chunks, existing_chunks = int(counts[0]), int(counts[1])
    if new_chunks < bulk_threshold or new_chunks <= existing_chunks:
        return []
    if not _owns_tables(conn):
        return []  # a writer role may not drop indexes: it loads with them live, only slower
    # Dropping an index locks its table for everyone. Taken one by one in whatever order the
    # indexes come, a lock on postings before chunks deadlocked with a search, which holds chunks
    # (its own statement reads them) when its sides go on to postings and embeddings. Taken in
    # that same order, a load waits for searches under way and new ones wait for the load.
    conn.execute("LOCK TABLE chunks, postings, embeddings IN ACCESS EXCLUSIVE MODE")
    hnsw_index = hnsw_index_name(model_id) if model_id is not None else None
    deferred = [
        _DeferredIndex(str(name), str(definition))
        for name, definition in conn.execute(
            DEFERRABLE_INDEXES, {"hnsw_index": hnsw_index}
        ).fetchall()
    ]
    for index in deferred:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(index.name)))
    return deferred


def _owns_tables(conn: Connection) -> bool:
    row = conn.execute(
        "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class"
        " WHERE oid = 'chunks'::regclass"
    ).fetchone()
    return bool(row and row[0])


def _rebuild(conn: Connection, deferred: list[_DeferredIndex]) -> list[str]:
    for index in deferred:
        # A definition PostgreSQL itself printed for an index that existed a moment ago.
        conn.execute(sql.SQL(index.definition))
    return [index.name for index in deferred]


UPSERT_POSTS = """
INSERT INTO posts (slug, title, url, published_on, authors, tags)
SELECT slug, title, url, published_on, authors, tags FROM load_posts
ON CONFLICT (slug) DO UPDATE
SET title = excluded.title, url = excluded.url, published_on = excluded.published_on,
    authors = excluded.authors, tags = excluded.tags
WHERE (posts.title, posts.url, posts.published_on, posts.authors, posts.tags)
    IS DISTINCT FROM
    (excluded.title, excluded.url, excluded.published_on, excluded.authors, excluded.tags)
RETURNING (xmax = 0) AS added
"""

# Posts whose title changes need their chunks' documents rebuilt (the title is in them).
RETITLED_POSTS = """
CREATE TEMPORARY TABLE retitled_posts ON COMMIT DROP AS
SELECT p.id FROM posts p JOIN load_posts l USING (slug) WHERE p.title <> l.title
"""

REMOVE_CHUNKS_NOT_IN_LOAD = """
DELETE FROM chunks c
USING posts p
WHERE c.post_id = p.id
  AND p.slug IN (SELECT slug FROM load_posts)
  AND NOT EXISTS (
      SELECT 1 FROM load_chunks r WHERE r.slug = p.slug AND r.content_hash = c.content_hash)
"""

ADD_NEW_CHUNKS = """
INSERT INTO chunks (post_id, position, text, content_hash, search_vector)
SELECT p.id, r.position, r.text, r.content_hash, hfsearch_document(p.title, r.text)
FROM load_chunks r JOIN posts p USING (slug)
WHERE NOT EXISTS (
    SELECT 1 FROM chunks c WHERE c.post_id = p.id AND c.content_hash = r.content_hash)
ORDER BY r.row_number
"""

UPDATE_MOVED_OR_RETITLED_CHUNKS = """
UPDATE chunks c
SET position = r.position,
    search_vector = CASE WHEN c.post_id IN (SELECT id FROM retitled_posts)
                         THEN hfsearch_document(p.title, c.text) ELSE c.search_vector END
FROM load_chunks r JOIN posts p USING (slug)
WHERE c.post_id = p.id AND c.content_hash = r.content_hash
  AND (c.position <> r.position OR c.post_id IN (SELECT id FROM retitled_posts))
"""

UPSERT_VECTORS = """
INSERT INTO embeddings (model_id, chunk_id, segment, dimensions, embedding)
SELECT %(model_id)s, c.id, 0, %(dimensions)s, r.embedding
FROM load_chunks r
JOIN posts p USING (slug)
JOIN chunks c ON c.post_id = p.id AND c.content_hash = r.content_hash
ON CONFLICT (model_id, chunk_id, segment) DO UPDATE
SET embedding = excluded.embedding
WHERE embeddings.embedding IS DISTINCT FROM excluded.embedding
"""


def _upsert(
    conn: Connection,
    rows: int,
    model_id: int | None,
    dimensions: int | None,
    vectors_model: str | None,
) -> LoadResult:
    conn.execute(RETITLED_POSTS)
    added_flags = [bool(row[0]) for row in conn.execute(UPSERT_POSTS).fetchall()]
    chunks_removed = conn.execute(REMOVE_CHUNKS_NOT_IN_LOAD).rowcount
    chunks_added = conn.execute(ADD_NEW_CHUNKS).rowcount
    chunks_updated = conn.execute(UPDATE_MOVED_OR_RETITLED_CHUNKS).rowcount
    vectors_written = 0
    if model_id is not None:
        vectors_written = conn.execute(
            UPSERT_VECTORS, {"model_id": model_id, "dimensions": dimensions}
        ).rowcount
    return LoadResult(
        rows=rows,
        posts_added=sum(added_flags),
        posts_updated=len(added_flags) - sum(added_flags),
        chunks_added=chunks_added,
        chunks_updated=chunks_updated,
        chunks_removed=chunks_removed,
        vectors_written=vectors_written,
        vectors_model=vectors_model if model_id is not None else None,
    )

"""The benchmark code, run at a smoke size so it cannot rot (the real runs are never tests)."""

from __future__ import annotations

import json
from dataclasses import astuple
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import EXTENDED_CORPUS

from benchmarks.__main__ import (
    CLIENTS,
    EF_VALUES,
    SECTIONS,
    log_slow_statements,
    peer_database,
    run,
)
from benchmarks.corpus import batches, generate, query_vectors, shape, write
from benchmarks.hnsw import BUILD_SETTINGS, GRAPHS, Graph, graph_builds, parse_build_settings
from benchmarks.loads import BARE_HNSW, BARE_TABLE
from benchmarks.queries import BARE_TOP_10, index_scans_only
from benchmarks.report import report
from hfsearch.database import Connection, start_embedded, stop_embedded


def test_the_synthetic_corpus_is_reproducible_and_shaped_like_the_real_one() -> None:
    first, second = generate(3000, seed=3), generate(3000, seed=3)
    assert first.equals(second)
    assert first.column_names == [
        "title",
        "author",
        "date",
        "local",
        "tags",
        "URL",
        "chunk",
        "embedding",
    ]
    vectors = np.asarray(first.column("embedding").combine_chunks().values).reshape(-1, 768)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    # clustered (3,000 chunks around 300 topics): a query vector lies much closer to its
    # nearest chunks than to a typical one
    similarity = query_vectors(5, seed=3) @ vectors.T
    assert np.all(similarity.max(axis=1) - np.median(similarity, axis=1) > 0.3)


def test_the_synthetic_vectors_are_shaped_like_real_embeddings() -> None:
    # HNSW's recall depends on this shape: with the spread the same in every direction, the
    # nearest neighbours were all but tied and recall@10 fell to 0.74 at 1M chunks.
    real = np.array(
        [json.loads(line)["embedding"] for line in EXTENDED_CORPUS.open()], dtype=np.float32
    )
    table = generate(len(real))
    synthetic = np.asarray(table.column("embedding").combine_chunks().values).reshape(-1, 768)
    real_shape, synthetic_shape = shape(real), shape(synthetic)
    assert synthetic_shape.local_dimensionality == pytest.approx(
        real_shape.local_dimensionality, rel=0.3
    )
    assert synthetic_shape.nearest_distances == pytest.approx(
        real_shape.nearest_distances, abs=0.08
    )
    assert synthetic_shape.variance_shares == pytest.approx(real_shape.variance_shares, abs=0.06)


def test_the_corpus_is_the_same_made_in_batches_or_written_to_a_file(tmp_path: Path) -> None:
    # A 1M corpus is made and written a batch at a time; its rows must not depend on that.
    whole = generate(3000, seed=3)
    in_batches = pa.Table.from_batches(list(batches(3000, seed=3, rows_per_batch=700)))
    assert in_batches.equals(whole)
    path = tmp_path / "corpus.parquet"
    write(path, 3000, seed=3)
    assert pq.read_table(path).equals(whole)
    assert not generate(3000, seed=4).equals(whole)


def test_a_smoke_run_reports_every_figure(tmp_path: Path) -> None:
    sections = [s for s in SECTIONS if s != "peers"]  # the peers: the next test
    results = run(
        size=1000,
        query_count=20,
        sections=sections,
        workdir=tmp_path,
        maintenance_work_mem="256MB",
        shared_buffers="160MB",
    )
    assert results["chunks"] == 1000 and results["shared_buffers"] == "160MB"
    load = results["load"]
    for path in ("hfsearch", "bare"):
        assert load[path]["seconds"] > 0 and load[path]["server_peak_pss_mb"] > 0
    assert load["hfsearch"]["peak_rss_mb"] > 0
    assert results["sizes_mb"]["chunks"] > 0 and results["sizes_mb"]["bare"] > 0
    # The bare path builds the full-text index hfsearch builds (its postings), and apart from
    # its time a GIN index.
    assert load["bare"]["phase_seconds"]["postings"] > 0 and load["bare"]["gin_seconds"] > 0
    postings, bare_postings = results["sizes_mb"]["postings"], results["sizes_mb"]["bare_postings"]
    assert 0.8 < bare_postings / postings < 1.25
    assert set(results["latency_ms"]) == {"bare_hnsw", "lexical", "vector", "hybrid"}
    recall = results["recall_at_10_by_ef_search"]
    assert set(recall) == set(EF_VALUES)
    assert all(0 <= value <= 1 for value in recall.values()) and recall[200] >= 0.9
    filtered = results["filtered_recall"]
    assert round(filtered["50.0%"]["mean_share_passing"], 1) == 0.5
    assert all(f["short_results"] == 0 for f in filtered.values())
    assert all(f["recall_at_10"] >= 0.9 for f in filtered.values())
    timed = [f["vector_latency_ms"] for f in filtered.values()]
    assert all(0 < t["p50_ms"] <= t["p95_ms"] <= t["p99_ms"] for t in timed)
    assert set(results["throughput_hybrid"]) == set(CLIENTS)
    assert all(t["queries"] > 0 for t in results["throughput_hybrid"].values())
    builds = results["hnsw"]["builds"]
    assert [(b["maintenance_work_mem"], b["parallel_workers"]) for b in builds] == BUILD_SETTINGS
    storage = results["hnsw"]["storage"]
    # halfvec stores two bytes a dimension instead of four
    assert storage["halfvec"]["index_mb"] < 0.75 * storage["vector"]["index_mb"]
    graphs = results["hnsw_graphs"]
    # the load's own index first, as the bare path built it, then each graph of GRAPHS
    assert graphs[0]["seconds"] == load["bare"]["phase_seconds"]["hnsw"]
    assert (graphs[0]["m"], graphs[0]["ef_construction"]) == (24, 128)
    assert [(g["m"], g["ef_construction"], g["parallel_workers"]) for g in graphs[1:]] == [
        astuple(graph) for graph in GRAPHS
    ]
    assert all(g["recall_at_10_by_ef_search"][200] >= 0.9 for g in graphs)

    # The report shows each figure beside its baseline, from the JSON as written.
    saved = tmp_path / "results.json"
    saved.write_text(json.dumps(results))
    markdown = report([saved])
    ratio, with_gin = load["hfsearch_speed_vs_bare"], load["hfsearch_speed_vs_bare_with_gin"]
    assert f"| 1k | `hfsearch load` | {load['hfsearch']['seconds']:,} |" in markdown
    assert f"| {ratio:.2f} ({with_gin:.2f} vs bare with GIN) |" in markdown
    assert f"GIN apart {load['bare']['gin_seconds']} |" in markdown
    hybrid = results["latency_ms"]["hybrid"]
    assert f"| hfsearch hybrid (RRF) | {hybrid['p50_ms']} / {hybrid['p95_ms']}" in markdown
    assert results["default_ef_search"] == 100  # 1,000 chunks: the smallest breadth
    assert "| 1k chunks (ef_search 100) |" in markdown
    assert markdown.count("\n| 8 clients |") == 1 and "| 0.1% |" in markdown
    rarest = filtered["0.1%"]["vector_latency_ms"]
    assert f"| {rarest['p50_ms']} / {rarest['p95_ms']} |" in markdown
    assert "\n| 16 | 128 | 2 | " in markdown

    # The database left in the workdir is measured again, without a load, with other settings,
    # its HNSW index built as --hnsw-builds asks (at 1M, 64MB would take hours).
    builds = [("128MB", 1), ("256MB", 0)]
    again = run(
        0, 20, ["query", "hnsw"], tmp_path, "256MB", "192MB", reuse=True, hnsw_builds=builds
    )
    assert again["chunks"] == 1000 and again["shared_buffers"] == "192MB"
    assert set(again["latency_ms"]) == set(results["latency_ms"]) and "load" not in again
    rebuilt = again["hnsw"]["builds"]
    assert [(b["maintenance_work_mem"], b["parallel_workers"]) for b in rebuilt] == builds
    assert again["hnsw"]["storage"]["halfvec"]["recall_at_10_by_ef_search"][200] >= 0.9


def test_hnsw_build_settings_are_read_as_memory_and_workers() -> None:
    assert parse_build_settings("8GB:0, 8GB:2") == [("8GB", 0), ("8GB", 2)]
    with pytest.raises(ValueError, match="'8GB': expected maintenance_work_mem:workers"):
        parse_build_settings("1GB:1,8GB")


def test_the_bare_table_sections_run_without_an_hfsearch_load(tmp_path: Path) -> None:
    results = run(
        size=500, query_count=10, sections=["graph"], workdir=tmp_path, maintenance_work_mem="64MB"
    )
    assert set(results["load"]) == {"bare"}
    assert results["sizes_mb"].get("chunks", 0) < 0.1  # hfsearch's tables were left empty
    assert len(results["hnsw_graphs"]) == len(GRAPHS) + 1
    saved = tmp_path / "results.json"
    saved.write_text(json.dumps(results))
    markdown = report([saved])
    assert "| bare COPY BINARY + postings + HNSW |" in markdown and "hfsearch load" not in markdown


def test_the_peers_run_in_their_own_environments(tmp_path: Path) -> None:
    """langchain-postgres and llama-index at a smoke size (their environments are made on the
    first run, in .bench-venvs/)."""
    results = run(
        size=300,
        query_count=10,
        sections=["peers"],
        workdir=tmp_path,
        maintenance_work_mem="96MB",
    )
    peers = results["peers"]
    assert set(peers) == {
        "PGVector.add_embeddings",
        "PGVectorStore (hybrid)",
        "PGVectorStore.add (hybrid, HNSW)",
    }
    for name, peer in peers.items():
        assert peer["rows"] == "added" and peer["table_rows"] == 300, name
        # every store's index builds get hfsearch's memory, not the server's default (64MB)
        assert peer["maintenance_work_mem"] == "96MB", name
        assert peer["rows_per_second"] > 0, name
        assert peer["hits_for_first_query"]["vector"] == 10, name
        assert all(m["p50_ms"] > 0 for m in peer["latency_ms"].values()), name
    assert peers["PGVectorStore (hybrid)"]["hits_for_first_query"]["hybrid"] == 10
    assert set(results["latency_ms_at_peers_ef_search"]) == {"vector", "hybrid"}
    # llama-index matches any word of a query, langchain every word: never more chunks
    any_word = peers["PGVectorStore.add (hybrid, HNSW)"]["text_matches"]
    every_word = peers["PGVectorStore (hybrid)"]["text_matches"]
    assert any_word["median"] > 0
    assert any_word["median"] >= every_word["median"]
    assert any_word["share_with_none"] <= every_word["share_with_none"]


def test_a_peers_database_gives_its_index_builds_the_memory_and_logs_none_of_its_rows(
    tmp_path: Path,
) -> None:
    """The peer scripts set nothing themselves: their database's settings reach every
    connection of theirs, while the harness's server logs hfsearch's slow statements."""
    url = start_embedded(tmp_path / "server")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            log_slow_statements(conn)
        settings = (
            "SELECT current_database(), current_setting('maintenance_work_mem'),"
            " current_setting('log_min_duration_statement')"
        )
        with peer_database(url, "smoke", "96MB") as peer_url, psycopg.connect(peer_url) as conn:
            assert conn.execute(settings).fetchone() == ("peer_smoke", "96MB", "-1")
        with psycopg.connect(url) as conn:
            assert conn.execute(settings).fetchone() == ("hfsearch", "64MB", "1s")
            gone = conn.execute("SELECT count(*) FROM pg_database WHERE datname = 'peer_smoke'")
            assert gone.fetchone() == (0,)
    finally:
        stop_embedded(tmp_path / "server")


def test_the_peers_query_a_reused_database_with_their_rows_copied_in(tmp_path: Path) -> None:
    """--peer-rows copy: at 1M the peers' own loads would take hours, so their tables are
    filled by COPY (with the rows their own add writes) and only their queries are measured,
    beside hfsearch's on the database an earlier run left."""
    run(size=300, query_count=10, sections=["query"], workdir=tmp_path, maintenance_work_mem="64MB")
    (tmp_path / "synthetic-300.parquet").unlink()  # made again from its seed
    results = run(0, 10, ["query", "peers"], tmp_path, "64MB", reuse=True, peer_rows="copy")
    peers = results["peers"]
    # the legacy store (vector search only) is left out: `PGVectorStore` searches both ways
    assert set(peers) == {"PGVectorStore (hybrid)", "PGVectorStore.add (hybrid, HNSW)"}
    for name, peer in peers.items():
        assert peer["rows"] == "copied" and "rows_per_second" not in peer, name
        assert peer["table_rows"] == 300, name
        assert peer["hits_for_first_query"]["vector"] == 10, name
        assert set(peer["latency_ms"]) == {"vector", "hybrid"}, name
    assert peers["PGVectorStore (hybrid)"]["hits_for_first_query"]["hybrid"] == 10
    saved = tmp_path / "results.json"
    saved.write_text(json.dumps(results))
    markdown = report([saved])
    hybrid = peers["PGVectorStore (hybrid)"]["latency_ms"]["hybrid"]
    assert f"| PGVectorStore (hybrid) hybrid (rows copied in) | {hybrid['p50_ms']} /" in markdown
    assert "| load, " not in markdown  # no load figures for copied rows
    beside = results["latency_ms_at_peers_ef_search"]["hybrid"]
    assert f"| hfsearch hybrid at the peers' ef_search (100) | {beside['p50_ms']} /" in markdown
    # --peers: one peer alone, for sizes where each peer's own load takes an hour or more
    alone = run(
        0, 10, ["peers"], tmp_path, "64MB", reuse=True, peer_rows="copy", peer_names=("llamaindex",)
    )
    assert set(alone["peers"]) == {"PGVectorStore.add (hybrid, HNSW)"}


def test_quality_references_agree_with_hfsearch(search_db_url: str, minilm: str) -> None:
    """numpy's exact cosine must rank exactly as hfsearch's exact mode; bm25s (its own
    tokenizer and stop words) close to hfsearch's BM25."""
    from benchmarks.quality import QUERIES, compare_on
    from hfsearch.client import cached_embedder
    from hfsearch.database import connect
    from hfsearch.evaluation import read_queries

    with connect(search_db_url) as conn:
        results = compare_on(conn, cached_embedder(minilm), read_queries(QUERIES))
    agreement = results["agreement"]
    assert agreement["numpy top 10 shared with hfsearch vector (exact)"] == 1.0
    assert agreement["bm25s top 10 shared with hfsearch lexical"] >= 0.6
    metrics = results["metrics"]
    assert metrics["numpy cosine"] == metrics["hfsearch vector (exact)"]
    assert all(0 < m["nDCG@10"] <= 1 for m in metrics.values())


def test_the_bare_baseline_reads_its_hnsw_index(conn: Connection) -> None:
    """On a small table the planner prefers an exact scan of the out-of-line vectors: the
    bare "HNSW" figures must come from the index all the same."""
    conn.execute(BARE_TABLE)
    conn.execute(
        "INSERT INTO bare (title, body, embedding) SELECT 't', 'b', v FROM unnest(%s::vector[]) v",
        (list(query_vectors(300, seed=2)),),
    )
    conn.execute("CREATE INDEX bare_hnsw ON bare USING hnsw (embedding vector_cosine_ops)")
    conn.execute("ANALYZE bare")
    explain = "EXPLAIN " + BARE_TOP_10
    vector = query_vectors(1, seed=4)[0]
    with index_scans_only(conn, 400):
        plan = " ".join(row[0] for row in conn.execute(explain, (vector,)))
    assert "Index Scan using bare_hnsw" in plan
    assert conn.execute("SHOW enable_seqscan").fetchone() == ("on",)  # left as it was


def test_each_graph_is_built_with_its_own_parameters(conn: Connection) -> None:
    conn.execute(BARE_TABLE)
    conn.execute(
        "INSERT INTO bare (title, body, embedding) SELECT 't', 'b', v FROM unnest(%s::vector[]) v",
        (list(query_vectors(300, seed=2)),),
    )
    conn.execute(BARE_HNSW)
    conn.commit()
    graphs = graph_builds(
        conn, query_vectors(5, seed=4), [Graph(24, 100, 0)], "64MB", [40], loaded_seconds=1.5
    )
    loaded, rebuilt = graphs
    assert (loaded["m"], loaded["ef_construction"], loaded["seconds"]) == (24, 128, 1.5)
    assert (rebuilt["m"], rebuilt["ef_construction"], rebuilt["parallel_workers"]) == (24, 100, 0)
    options = conn.execute(
        "SELECT reloptions FROM pg_class WHERE oid = 'bare_hnsw'::regclass"
    ).fetchone()
    assert options == (["m=24", "ef_construction=100"],)
    # exact search through the same table: every graph finds the 10 nearest of 300 at ef 40
    assert all(g["recall_at_10_by_ef_search"][40] >= 0.9 for g in graphs)


def test_the_bare_path_builds_the_graph_hfsearch_builds(conn: Connection) -> None:
    """The load ratio compares the same work: the bare index's graph is hfsearch's."""
    model = conn.execute(
        "INSERT INTO embedding_models (name, dimensions) VALUES ('bench', 768) RETURNING id"
    ).fetchone()[0]  # type: ignore[index]
    conn.execute("SELECT hfsearch_ensure_vector_index(%s)", (model,))
    conn.execute(BARE_TABLE)
    conn.execute(BARE_HNSW)
    options = conn.execute(
        "SELECT reloptions FROM pg_class WHERE relname IN (%s, 'bare_hnsw') ORDER BY relname",
        (f"embeddings_model_{model}_hnsw",),
    ).fetchall()
    assert len(options) == 2 and options[0] == options[1] != (None,)

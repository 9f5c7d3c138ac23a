"""Search on a real database holding the sample, embedded with MiniLM."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import debug_notices
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hfsearch import AsyncSearchClient, ModelMismatchError, SearchClient, SearchError
from hfsearch.database import connect
from hfsearch.search import Mode, SearchRequest, search


@pytest.fixture(scope="module")
def client(search_db_url: str, minilm: str) -> Iterator[SearchClient]:
    with SearchClient(search_db_url, embedding_model=minilm) as search_client:
        yield search_client


@pytest.fixture(scope="module")
def lexical_only(search_db_url: str) -> Iterator[SearchClient]:
    with SearchClient(search_db_url) as search_client:
        yield search_client


def keys(page: object) -> list[str]:
    return [hit.key for hit in page.hits]  # type: ignore[attr-defined]


# Lexical: BM25 over any query term.


def test_rare_identifier_finds_its_chunk_first(lexical_only: SearchClient) -> None:
    assert keys(lexical_only.search("SHARDED_STATE_DICT"))[0] == "ram-efficient-pytorch-fsdp#8"
    assert keys(lexical_only.search("iscrowd"))[0] == "object-detection-leaderboard#4"


def test_natural_language_question_matches_on_some_terms(lexical_only: SearchClient) -> None:
    # No chunk holds every word; websearch_to_tsquery would find nothing here.
    page = lexical_only.search("who paid for the compute used to train the model?", mode="lexical")
    assert len(page.hits) == 10
    assert "wuerstchen#3" in keys(page)[:3]


def test_lexical_scores_are_bm25_and_descending(lexical_only: SearchClient) -> None:
    hits = lexical_only.search("gaussian splatting training", k=20).hits
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True) and scores[0] > 1.0  # not ts_rank's 0..1
    assert all(hit.lexical_rank == hit.rank and hit.vector_rank is None for hit in hits)


def test_rarer_terms_weigh_more(lexical_only: SearchClient) -> None:
    # "model" is everywhere, "VQGAN" in one chunk: the one chunk must win.
    assert keys(lexical_only.search("model VQGAN"))[0] == "wuerstchen#0"


@pytest.mark.parametrize(
    "query",
    [
        "the of and",
        "",
        "   ",
        "!!! ??? ...",
        "a & b | !c (d) <-> e:* 'f'",
        "\\",
        "'''",
        "ÜbER ünïcødé 中文",
    ],
)
def test_odd_queries_never_fail(lexical_only: SearchClient, query: str) -> None:
    page = lexical_only.search(query)
    assert isinstance(page.hits, list)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
        max_size=200,
    )
)
def test_arbitrary_text_is_a_valid_query(lexical_only: SearchClient, query: str) -> None:
    lexical_only.search(query, k=3)


def test_snippet_highlights_query_terms_and_text_is_whole(
    lexical_only: SearchClient, search_db_url: str
) -> None:
    hit = lexical_only.search("Truebill").hits[0]
    assert "<<Truebill>>" in hit.snippet
    with connect(search_db_url) as conn:
        (text,) = conn.execute("SELECT text FROM chunks WHERE id = %s", (hit.chunk_id,)).fetchone()
    assert hit.text == text and len(hit.text) > len(hit.snippet) / 2


# Vector and hybrid.


def test_vector_search_finds_a_paraphrase(client: SearchClient) -> None:
    # No chunk of the post says "photorealistic scenes render in real time" in these words.
    page = client.search("making photorealistic scenes render in real time", mode="vector")
    assert [hit.slug for hit in page.hits[:2]] == ["gaussian-splatting"] * 2
    assert all(hit.vector_rank is not None and hit.lexical_rank is None for hit in page.hits)
    assert -1.0 <= page.hits[-1].score <= page.hits[0].score <= 1.0


def test_exact_and_hnsw_vector_search_agree_on_a_small_corpus(client: SearchClient) -> None:
    query = "how much memory does a language model need?"
    approximate = client.search(query, mode="vector", k=10)
    exact = client.search(query, mode="vector", k=10, exact=True)
    assert keys(approximate) == keys(exact)


def test_the_graph_is_searched_as_wide_as_asked_or_as_the_corpus_size_says(
    search_db_url: str, minilm: str
) -> None:
    """A request without ef_search leaves it to the database, which sizes it by the corpus
    (100 for the sample's 100 chunks; revision 0021's test covers larger corpora)."""
    a_vector = (
        "SELECT e.embedding FROM embeddings e JOIN embedding_models m ON m.id = e.model_id"
        " WHERE m.name = %s LIMIT 1"
    )
    with connect(search_db_url) as conn:
        vector = conn.execute(a_vector, (minilm,)).fetchone()[0]  # type: ignore[index]
        for asked, used in [(None, "100"), (250, "250")]:
            with conn.transaction():  # the function sets it for the transaction
                request = SearchRequest("", mode="vector", ef_search=asked)
                assert search(conn, request, vector, minilm).hits
                assert conn.execute("SHOW hnsw.ef_search").fetchone() == (used,)


def test_the_vector_side_fetches_more_only_when_windows_need_it(
    search_db_url: str, minilm: str
) -> None:
    """A model with one vector a chunk is answered by one `depth`-vector fetch; MiniLM's windows
    (219 vectors for the sample's 100 chunks) need the wider one to fill 100 chunks."""
    # the query vector: the model's first stored one
    call = (
        "SELECT count(*) FROM hfsearch_vector("
        " (SELECT embedding FROM embeddings WHERE model_id = %s LIMIT 1), %s, NULL, %s)"
    )
    with connect(search_db_url) as conn:
        widened = debug_notices(conn, "hfsearch_vector:")
        models = dict(conn.execute("SELECT name, id FROM embedding_models").fetchall())
        dataset_model = next(name for name in models if name.startswith("dataset:"))
        for model, depth, chunks, widens in [
            (dataset_model, 100, 100, False),
            (dataset_model, 10, 10, False),
            (minilm, 100, 100, True),
        ]:
            widened.clear()
            count = conn.execute(call, (models[model], model, depth)).fetchone()
            assert count == (chunks,), model
            assert bool(widened) == widens, (model, depth, widened)


def test_hybrid_explains_each_result(client: SearchClient) -> None:
    page = client.search("how do I quantize a model to 4 bit", k=10)
    both = [hit for hit in page.hits if hit.lexical_rank and hit.vector_rank]
    assert both, "some results should be found by both sides"
    for hit in page.hits:
        expected = (1 / (60 + hit.lexical_rank) if hit.lexical_rank else 0) + (
            1 / (60 + hit.vector_rank) if hit.vector_rank else 0
        )
        assert hit.score == pytest.approx(expected)


def test_weighted_fusion_is_normalised(client: SearchClient) -> None:
    page = client.search("attention memory long inputs", fusion="weighted", k=5)
    assert all(0 <= hit.score <= 2 for hit in page.hits)
    assert page.hits[0].score >= page.hits[-1].score


def test_results_are_deterministic(client: SearchClient) -> None:
    first = client.search("benchmark latency", k=20)
    second = client.search("benchmark latency", k=20)
    assert [(h.chunk_id, h.score) for h in first.hits] == [
        (h.chunk_id, h.score) for h in second.hits
    ]


# Filters and shaping.


def test_filters_apply_inside_both_sides(client: SearchClient) -> None:
    # The post has 14 chunks: a filtered search must still return 10, all from it.
    page = client.search("images and diffusion", posts=["overview-quantization-transformers"])
    assert len(page.hits) == 10 and not page.short
    assert {hit.slug for hit in page.hits} == {"overview-quantization-transformers"}


@pytest.mark.parametrize(
    ("options", "check"),
    [
        ({"tags": ["cv", "aws"]}, lambda h: {"cv", "aws"} & set(h.tags)),
        ({"tags": ["LLM", "guide"], "all_tags": None}, lambda h: {"llm", "guide"} & set(h.tags)),
        ({"all_tags": ["llm", "guide"]}, lambda h: {"llm", "guide"} <= set(h.tags)),
        ({"authors": ["philschmid"]}, lambda h: h.authors == ["philschmid"]),
        ({"since": dt.date(2023, 9, 19)}, lambda h: h.published_on >= dt.date(2023, 9, 19)),
        ({"until": dt.date(2023, 9, 13)}, lambda h: h.published_on <= dt.date(2023, 9, 13)),
    ],
)
def test_each_filter_holds_for_every_result(
    client: SearchClient, options: dict[str, object], check: object
) -> None:
    page = client.search("model training and inference", k=30, **options)
    assert page.hits
    assert all(check(hit) for hit in page.hits)  # type: ignore[operator]


def test_a_filter_nothing_passes_gives_an_empty_short_page(client: SearchClient) -> None:
    page = client.search("quantization", tags=["no-such-tag"])
    assert page.hits == [] and page.short and page.next_cursor is None


def test_by_post_keeps_the_best_chunk_of_each_post(client: SearchClient) -> None:
    page = client.search("benchmark", by_post=True, k=20)
    slugs = [hit.slug for hit in page.hits]
    assert len(slugs) == len(set(slugs)) > 1
    everything = client.search("benchmark", k=100)
    best = {}
    for hit in everything.hits:
        best.setdefault(hit.slug, hit.chunk_id)
    assert {hit.slug: hit.chunk_id for hit in page.hits} == {s: best[s] for s in slugs}


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "vector"])
def test_pages_neither_repeat_nor_skip(client: SearchClient, mode: Mode) -> None:
    # A one-side first page fetches only k rows, later pages the whole depth: same order.
    whole = client.search("fine-tuning large models on GPUs", k=60, mode=mode)
    seen: list[int] = []
    cursor = None
    for _ in range(20):
        page = client.search("fine-tuning large models on GPUs", k=7, cursor=cursor, mode=mode)
        seen += [hit.chunk_id for hit in page.hits]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen[: len(whole.hits)] == [hit.chunk_id for hit in whole.hits]
    assert len(seen) == len(set(seen))


def test_bad_cursor_is_refused(client: SearchClient) -> None:
    with pytest.raises(SearchError, match="not a cursor"):
        client.search("x", cursor="garbage")


# Models.


def test_a_model_without_vectors_says_which_models_have_them(
    search_db_url: str, minilm: str, tmp_path: Path
) -> None:
    # The same weights under another name: a model the database holds no vectors for.
    other = tmp_path / "other-model"
    other.symlink_to(minilm, target_is_directory=True)
    with (
        SearchClient(search_db_url, embedding_model=str(other)) as client,
        pytest.raises(ModelMismatchError) as caught,
    ):
        client.search("anything", mode="hybrid")
    message = str(caught.value)
    assert f'no vectors under the model "{other}"' in message
    assert "dataset:unknown-768 (768 dimensions)" in message and "hfsearch embed --model" in message


def test_vectors_of_another_model_are_never_compared(
    client: SearchClient, search_db_url: str
) -> None:
    with connect(search_db_url) as conn:
        (stored,) = conn.execute(
            "SELECT embedding FROM embeddings WHERE model_id = 1 LIMIT 1"
        ).fetchone()
    from hfsearch.search import SearchRequest, search

    with connect(search_db_url) as conn:
        with pytest.raises(ModelMismatchError, match=r"768 dimensions.*has 384"):
            search(
                conn, SearchRequest("x", mode="vector"), stored.to_numpy(), client.embedding_model
            )
        with pytest.raises(
            ModelMismatchError, match=r"no vectors under the model \"other\".*dataset:unknown-768"
        ):
            search(conn, SearchRequest("x", mode="vector"), stored.to_numpy(), "other")


def test_hybrid_without_a_model_is_a_clear_error(lexical_only: SearchClient) -> None:
    with pytest.raises(SearchError, match="needs an embedding model"):
        lexical_only.search("x", mode="hybrid")


def test_similar_uses_the_chunks_own_vectors_even_of_an_unknown_model(
    lexical_only: SearchClient, search_db_url: str
) -> None:
    with connect(search_db_url) as conn:
        (chunk_id,) = conn.execute(
            "SELECT c.id FROM chunks c JOIN posts p ON p.id = c.post_id"
            " WHERE p.slug = 'gaussian-splatting' AND c.position = 3"
        ).fetchone()
    page = lexical_only.similar(chunk_id, k=5, model="dataset:unknown-768")
    assert len(page.hits) == 5 and chunk_id not in [hit.chunk_id for hit in page.hits]
    assert page.hits[0].slug == "gaussian-splatting"


def test_async_client_matches_the_sync_one(
    client: SearchClient, search_db_url: str, minilm: str
) -> None:
    async def run() -> tuple[list[str], list[str]]:
        async with AsyncSearchClient(search_db_url, embedding_model=minilm) as async_client:
            page = await async_client.search("leaderboard metrics", k=5, tags=["cv"])
            alike = await async_client.similar(page.hits[0].chunk_id, k=3)
            return keys(page), keys(alike)

    found, alike = asyncio.run(run())
    assert found == keys(client.search("leaderboard metrics", k=5, tags=["cv"]))
    assert len(alike) == 3


# The SQL interface, as any client calls it.


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_sql_function_from_psql(search_db_url: str) -> None:
    sql = (
        "SELECT rank, slug, chunk_position FROM hfsearch_search('SHARDED_STATE_DICT', k => 1);"
        "SELECT count(*) FROM hfsearch_search('images', "
        "(SELECT embedding FROM embeddings WHERE model_id = 1 AND chunk_id = 1), "
        "'dataset:unknown-768', k => 4, tags_any => ARRAY['diffusion']);"
    )
    done = subprocess.run(
        ["psql", search_db_url, "-X", "-A", "-t", "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["1|ram-efficient-pytorch-fsdp|8", "4"]

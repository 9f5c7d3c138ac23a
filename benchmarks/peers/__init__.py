"""The usual alternatives, measured on the same server and rows as hfsearch.

Each peer runs in its own virtual environment (`.bench-venvs/<peer>`, made on first use from
`requirements-<peer>.txt`): langchain-postgres 0.0.19 needs the pgvector package < 0.4 and
llama-index-vector-stores-postgres 0.9.0 needs SQLAlchemy < 2.1, neither of which hfsearch can
share. The harness runs `python -m benchmarks.peers.<peer> --url ... --corpus ... --queries ...`
there; the script prints one JSON object with its load time and query latencies.

The scripts import only the standard library, numpy, pyarrow, psycopg 3, pgvector-python, the
peer and `benchmarks.timing`/`benchmarks.peers.inputs`, never hfsearch.
"""

# The peers' queries' hnsw.ef_search; the harness times hfsearch at it too, beside its default.
EF_SEARCH = 100

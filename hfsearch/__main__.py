from hfsearch.cli import app

app()

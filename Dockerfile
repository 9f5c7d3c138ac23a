# The hfsearch service image: CPU-only PyTorch, hfsearch installed from this repository.
FROM python:3.11-slim

WORKDIR /app
# CPU-only torch first: a plain `torch` requirement would pull several GB of CUDA libraries.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY hfsearch ./hfsearch
COPY data ./data
# Editable, so `hfsearch migrate` finds alembic/ beside the package.
RUN pip install --no-cache-dir -e . \
    && useradd --create-home hfsearch
USER hfsearch

EXPOSE 8000
CMD ["hfsearch", "serve", "--host", "0.0.0.0", "--port", "8000"]

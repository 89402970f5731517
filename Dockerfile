# flopcards: the study service, CPU only.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

# The CPU build of torch comes from PyTorch's own CPU wheel index; the default index would
# bring a multi-GB CUDA build. Override TORCH_INDEX to use a mirror.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

WORKDIR /app
RUN pip install --index-url "$TORCH_INDEX" torch==2.13.0

COPY pyproject.toml README.md LICENSE ./
COPY api ./api
COPY content ./content
COPY models ./models
COPY grader ./grader
RUN pip install ".[postgres]"

# Everything the service writes lives in /data, owned by its unprivileged user; a new named
# volume mounted there starts as a copy of this folder, ownership included.
RUN useradd --create-home --uid 1000 flopcards \
    && mkdir -p /data/cache/examples && chown -R flopcards /data
USER flopcards
VOLUME ["/data"]

ENV FLOPCARDS_DATABASE_URL=sqlite:////data/flopcards.db \
    FLOPCARDS_EXAMPLE_CACHE_DIR=/data/cache/examples \
    FLOPCARDS_HOST=0.0.0.0 \
    FLOPCARDS_PORT=8000
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"

CMD ["flopcards", "serve"]

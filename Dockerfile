# syntax=docker/dockerfile:1
# Build stage: compile wheels (asyncpg, selectolax) once, away from the runtime image.
FROM python:3.11-slim AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
# Compiled catalogs go into the wheel (the .po files ship too, as the fallback).
RUN pip install --no-cache-dir "Babel>=2.14" && pybabel compile -d bot/locales -D techbrief
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: only the wheels and an unprivileged user. The catalog ships inside the
# package; mount a settings file or set TECHBRIEF_* variables to configure.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/techbrief.db \
    TECHBRIEF_HTTP__HOST=0.0.0.0
RUN useradd --create-home --uid 10001 techbrief && mkdir -p /data /app \
    && chown techbrief:techbrief /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
WORKDIR /app
USER techbrief
VOLUME ["/data"]
EXPOSE 8765
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import sys,urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8765/healthz', timeout=4).status == 200 else 1)"
# The schema is migrated on start, so a new image upgrades the database it is given.
ENTRYPOINT ["sh", "-c", "techbrief db upgrade && exec \"$@\"", "--"]
CMD ["techbrief", "run"]

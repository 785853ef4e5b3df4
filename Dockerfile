# syntax=docker/dockerfile:1
# One image for every emsweb process: `web`, `worker`, `beat` or `migrate` (deploy/entrypoint.sh).
#   docker build -t emsweb .
#   docker run --rm --env-file .env emsweb migrate

# --- build: the dependencies, from the project's own pins in pyproject.toml --------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Compilers only for a dependency without a wheel for this platform; they stay in this stage.
RUN apt-get update \
 && apt-get install --yes --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml ./
# Only [project].dependencies (not the test extra), in a layer of their own: rebuilt only when
# pyproject.toml changes. The code itself runs from /app, not from site-packages.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && pip install --requirement requirements.txt
# The FIX gateway's engine (the `fix` extra) when EMSWEB_FIX is set: it compiles for ~10 minutes.
ARG EMSWEB_FIX=""
RUN if [ -n "$EMSWEB_FIX" ]; then \
      python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['fix']))" > fix.txt \
      && pip install --requirement fix.txt; \
    fi

# --- runtime ----------------------------------------------------------------------------------
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=emsweb.settings \
    STATIC_ROOT=/app/staticfiles \
    PORT=8000
RUN groupadd --system --gid 10001 emsweb \
 && useradd --system --uid 10001 --gid emsweb --home-dir /app --shell /usr/sbin/nologin emsweb
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root . /app
# Static files are collected into the image (whitenoise serves them, hashed and compressed).
# Settings need these variables to load; these throwaway values exist only during this RUN.
RUN SECRET_KEY=collectstatic-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    REDIS_URL=redis://127.0.0.1:6379/0 EMSWEB_FIELD_KEYS=collectstatic-only LOG_FORMAT=plain \
    python manage.py collectstatic --noinput --verbosity 0 \
 && chmod 0755 /app/deploy/entrypoint.sh
# The code is root's and read-only to the process; it runs as an unprivileged user.
USER emsweb:emsweb
EXPOSE 8000
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["web"]

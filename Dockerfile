# syntax=docker/dockerfile:1
# One image for every component of wallarm-sidecar; the command picks the role:
#   wallarm-sidecar proxy | node | controller | postanalytics wstore | cloud | ...
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 -t wallarm-sidecar .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# Compilers only in this stage, for dependencies without a wheel for the target arch.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential=12.9 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# The `postgres` extra: pg8000, the Cloud's PostgreSQL driver (helm/wallarm-cloud).
RUN pip wheel --wheel-dir /wheels ".[postgres]"

FROM ${PYTHON_IMAGE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
# iptables (nf_tables and legacy back ends) for the sidecar-init-iptables container.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables=1.8.9-2 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links=/wheels "wallarm-sidecar==0.1.0" "pg8000>=1.30" \
 && rm -rf /wheels \
 && groupadd --system --gid 101 wallarm \
 && useradd --system --uid 101 --gid 101 --no-create-home --shell /usr/sbin/nologin wallarm \
 && mkdir -p /opt/wallarm/etc/wallarm /opt/wallarm/var/lib/wallarm-acl \
             /opt/wallarm/var/lib/nginx/wallarm /opt/wallarm/var/lib/wallarm-api \
 && chown -R 101:101 /opt/wallarm
USER 101:101
EXPOSE 26001 10246 18080
ENTRYPOINT ["wallarm-sidecar"]
CMD ["proxy"]

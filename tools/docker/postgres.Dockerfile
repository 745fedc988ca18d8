# PostgreSQL for docker-compose.yml's `ha` profile: Debian's `postgresql` package on the local base
# image, so nothing is pulled from an image registry. The entrypoint (postgres-entrypoint.sh) reads
# the address, port, user, database and password that compose's setup step writes to the `config`
# volume (/config/postgres.env, /config/postgres-password), runs initdb on an empty data volume and
# then PostgreSQL in the foreground as the `postgres` user. The data folder is PGDATA, a volume.
# Build from this folder:
#   docker build -f postgres.Dockerfile --build-arg BASE_IMAGE=<image> -t dtr-cache/postgres tools/docker
# BASE_IMAGE is a Debian bookworm image; without a reachable registry, the one
# tools/docker/build-base-image.mjs makes (its `slim`).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
# No cluster from the package (the entrypoint makes its own) and no service started while building.
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && apt-get update && apt-get install -y --no-install-recommends postgresql-common \
 && sed -ri 's/#? *(create_main_cluster) .*/\1 = false/' /etc/postgresql-common/createcluster.conf \
 && apt-get install -y --no-install-recommends postgresql \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d \
 && ln -s /usr/lib/postgresql/*/bin /usr/local/lib/postgresql-bin
ENV PATH=/usr/local/lib/postgresql-bin:$PATH PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
VOLUME ["/var/lib/postgresql/data"]
# "Fast" shutdown: connected clients (the replicas' pools) do not hold the stop up.
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=5s --start-period=60s --retries=3 \
  CMD . /config/postgres.env && pg_isready -q -h "$POSTGRES_HOST" -p "$POSTGRES_PORT"
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]

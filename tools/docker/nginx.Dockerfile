# nginx for docker-compose.yml's `ha` profile, the load balancer at DTR's address in front of the DTR
# replicas: Debian's `nginx` package on the local base image, so nothing is pulled from an image
# registry (curl for the health check, which docker-compose.yml defines: DTR answers through nginx).
# The entrypoint (nginx-entrypoint.sh) runs nginx in the foreground with the configuration
# compose's setup step writes to the `config` volume (/config/nginx.conf); its error log goes to
# the container's log. Build from this folder:
#   docker build -f nginx.Dockerfile --build-arg BASE_IMAGE=<image> -t dtr-cache/nginx tools/docker
# BASE_IMAGE is a Debian bookworm image; without a reachable registry, the one
# tools/docker/build-base-image.mjs makes (its `slim`).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
# No service started while building; the configuration's runtime folder (pid, buffers, error log).
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && apt-get update && apt-get install -y --no-install-recommends nginx curl \
 && rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d \
 && mkdir -p /var/lib/nginx/dtr && ln -sf /dev/stderr /var/lib/nginx/dtr/nginx-error.log
COPY nginx-entrypoint.sh /usr/local/bin/nginx-entrypoint
ENTRYPOINT ["/usr/local/bin/nginx-entrypoint"]

#!/bin/sh
# The entrypoint of tools/docker/nginx.Dockerfile: nginx in the foreground (PID 1) with the
# configuration compose's setup step wrote for the `ha` profile. Refuses to start when setup
# configured one DTR instead (the profile was enabled without COMPOSE_PROFILES reaching setup):
# that DTR listens at the address nginx would take.
set -eu

mode=$(cat /config/mode 2>/dev/null || true)
if [ "$mode" != ha ] || [ ! -s /config/nginx.conf ]; then
  echo "nginx: the setup step configured one DTR (mode: ${mode:-none}), not the ha profile's replicas." >&2
  echo "nginx: enable the profile with COMPOSE_PROFILES=ha (setup reads it), not --profile ha:" >&2
  echo "nginx:   docker compose down -v && COMPOSE_PROFILES=ha docker compose up -d" >&2
  exit 1
fi
exec nginx -c /config/nginx.conf -g 'daemon off;'

#!/bin/sh
# The entrypoint of tools/docker/postgres.Dockerfile: waits for the setup step's settings, runs
# initdb on an empty data folder ($PGDATA: the user with its password, the database, password
# logins over TCP), then PostgreSQL in the foreground (PID 1) as the `postgres` user on the address
# and port of the settings.
set -eu

settings=/config/postgres.env
password_file=/config/postgres-password
data=$PGDATA

# Written by compose's setup step, which starts at the same time and then waits for this server.
waited=0
until [ -s "$settings" ] && [ -s "$password_file" ]; do
  if [ "$waited" -ge 180 ]; then
    echo "postgres: no $settings and $password_file after 180 s (compose's setup step writes them)" >&2
    exit 1
  fi
  sleep 1
  waited=$((waited + 1))
done
. "$settings"

as_postgres() {
  setpriv --reuid=postgres --regid=postgres --init-groups "$@"
}

mkdir -p "$data" /run/postgresql
chown postgres:postgres "$data" /run/postgresql
chmod 0700 "$data"

if [ ! -s "$data/PG_VERSION" ]; then
  echo "postgres: initdb in $data (user $POSTGRES_USER, database $POSTGRES_DB)" >&2
  password_copy=$(mktemp)
  cp "$password_file" "$password_copy"
  chown postgres:postgres "$password_copy"
  as_postgres initdb --pgdata="$data" --username="$POSTGRES_USER" --pwfile="$password_copy" \
    --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --locale=C >/dev/null
  rm -f "$password_copy"
  echo "CREATE DATABASE \"$POSTGRES_DB\";" | as_postgres postgres --single -D "$data" postgres >/dev/null
  # Password logins from any address: the server listens on one address only (listen_addresses).
  printf 'local all all peer\nhost all all all scram-sha-256\n' > "$data/pg_hba.conf"
  chown postgres:postgres "$data/pg_hba.conf"
fi

exec setpriv --reuid=postgres --regid=postgres --init-groups \
  postgres -D "$data" -c listen_addresses="$POSTGRES_HOST" -p "$POSTGRES_PORT" \
  -c unix_socket_directories=/run/postgresql

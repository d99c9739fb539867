#!/bin/bash
# Entrypoint of vigil-e2e/mariadb (Dockerfile beside it): the official mariadb image's
# contract for what charts/vigil uses, without root.
#
#   docker-entrypoint.sh [mariadbd|mysqld] [--option ...]   initialise if needed, then run
#   docker-entrypoint.sh --option ...                        the same (mariadbd is implied)
#   docker-entrypoint.sh anything else                       exec it (e.g. bash)
#
# First start (the datadir has no `mysql` schema): mariadb-install-db, then one bootstrap
# run of mariadbd (no networking) that sets the root password and creates MYSQL_DATABASE
# and MYSQL_USER. Both happen in a scratch directory inside the datadir that is renamed
# into place at the end, `mysql` last: a start that dies half-way leaves no datadir that
# looks initialised, and the next start begins again. Then mariadbd replaces this shell
# (PID 1 of the container gets SIGTERM and shuts the server down cleanly).
#
# Environment (MARIADB_* wins over MYSQL_*, as in the official image):
#   *_DATABASE, *_USER, *_PASSWORD        database and its owner ('user'@'%'), optional
#   *_ROOT_PASSWORD                       root's password, or
#   *_RANDOM_ROOT_PASSWORD=yes            a random one, printed once as in the official image, or
#   *_ALLOW_EMPTY_ROOT_PASSWORD=yes       (MYSQL_ALLOW_EMPTY_PASSWORD) none
#   *_ROOT_HOST                           where root may log in from (default %)
set -euo pipefail

log() { printf '%s [Entrypoint]: %s\n' "$(date -u +%FT%TZ)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ "${1:-}" == -* ]]; then
  set -- mariadbd "$@"
fi
if [[ "${1:-}" != mariadbd && "${1:-}" != mysqld ]]; then
  exec "$@"
fi
shift  # the server's own options are what remains

env_value() {  # env_value NAME: MARIADB_NAME, else MYSQL_NAME, else empty
  local mariadb="MARIADB_$1" mysql="MYSQL_$1"
  printf '%s' "${!mariadb:-${!mysql:-}}"
}
yes_value() { [[ "$(env_value "$1")" =~ ^(1|[yY][eE][sS]|[tT][rR][uU][eE])$ ]]; }
sql_string() {  # a quoted SQL string literal
  local s="${1//\\/\\\\}"
  printf "'%s'" "${s//\'/\\\'}"
}
sql_name() {  # a quoted SQL identifier
  printf '`%s`' "${1//\`/\`\`}"
}

# The datadir the server will really use (a --datadir option or a config file may move it).
DATADIR="$(mariadbd "$@" --verbose --help 2>/dev/null | awk '$1 == "datadir" { print $2; exit }')"
DATADIR="${DATADIR:-/var/lib/mysql/}"
DATADIR="${DATADIR%/}"

initialise() {
  local root_password database user password root_host
  root_password="$(env_value ROOT_PASSWORD)"
  if yes_value RANDOM_ROOT_PASSWORD; then
    # (No `tr </dev/urandom | head`: under pipefail, tr's SIGPIPE would end the script.)
    root_password="$(head -c 4096 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9')"
    root_password="${root_password:0:32}"
    log "GENERATED ROOT PASSWORD: $root_password"
  elif [[ -z "$root_password" ]] && ! yes_value ALLOW_EMPTY_ROOT_PASSWORD && ! yes_value ALLOW_EMPTY_PASSWORD; then
    die "the datadir is empty and no root password option is set: set MYSQL_ROOT_PASSWORD, MYSQL_RANDOM_ROOT_PASSWORD=yes or MYSQL_ALLOW_EMPTY_PASSWORD=yes"
  fi
  database="$(env_value DATABASE)"
  user="$(env_value USER)"
  password="$(env_value PASSWORD)"
  root_host="$(env_value ROOT_HOST)"
  root_host="${root_host:-%}"
  if [[ -n "$user" && -z "$password" ]]; then
    die "MYSQL_USER is set but MYSQL_PASSWORD is empty"
  fi
  [[ "$user" != root ]] || die "MYSQL_USER=root: set MYSQL_ROOT_PASSWORD for root instead"

  local scratch="$DATADIR/.vigil-init"
  rm -rf "$scratch"  # what an interrupted first start left behind
  mkdir -p "$scratch"
  log "initialising an empty datadir $DATADIR (mariadb-install-db)"
  mariadb-install-db --datadir="$scratch" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve --rpm >/tmp/vigil-install-db.log 2>&1 || {
      cat /tmp/vigil-install-db.log >&2
      die "mariadb-install-db failed"
    }

  # Bootstrap mode reads SQL from stdin with no networking and no client. FLUSH PRIVILEGES
  # loads the grant tables, which account statements need.
  {
    echo "FLUSH PRIVILEGES;"
    # Only what the environment asks for: root at localhost and root_host, the app's user.
    echo "DELETE FROM mysql.global_priv WHERE User NOT IN ('root', 'mariadb.sys') OR (User = 'root' AND Host NOT IN ('localhost'));"
    echo "DELETE FROM mysql.proxies_priv WHERE NOT (User = 'root' AND Host = 'localhost');"
    echo "FLUSH PRIVILEGES;"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$root_password");"
    if [[ "$root_host" != localhost ]]; then
      echo "CREATE USER 'root'@$(sql_string "$root_host") IDENTIFIED BY $(sql_string "$root_password");"
      echo "GRANT ALL ON *.* TO 'root'@$(sql_string "$root_host") WITH GRANT OPTION;"
    fi
    if [[ -n "$database" ]]; then
      echo "CREATE DATABASE IF NOT EXISTS $(sql_name "$database");"
    fi
    if [[ -n "$user" ]]; then
      echo "CREATE USER $(sql_string "$user")@'%' IDENTIFIED BY $(sql_string "$password");"
      if [[ -n "$database" ]]; then
        echo "GRANT ALL ON $(sql_name "${database//_/\\_}").* TO $(sql_string "$user")@'%';"
      fi
    fi
  } | mariadbd --bootstrap --datadir="$scratch" --skip-networking --log-warnings=0 "$@" \
      >/tmp/vigil-bootstrap.log 2>&1 || {
      cat /tmp/vigil-bootstrap.log >&2
      die "creating the users and the database failed"
    }

  # Into place, `mysql` last: from then on the datadir counts as initialised.
  local entry
  for entry in "$scratch"/* "$scratch"/.[!.]*; do
    [[ -e "$entry" && "$(basename "$entry")" != mysql ]] || continue
    mv "$entry" "$DATADIR/"
  done
  mv "$scratch/mysql" "$DATADIR/mysql"
  rmdir "$scratch"
  log "datadir initialised${database:+: database $database}${user:+, user $user}"
}

[[ -w "$DATADIR" ]] || die "datadir $DATADIR is not writable by uid $(id -u) (mount a volume; the chart's fsGroup makes it writable)"
if [[ ! -d "$DATADIR/mysql" ]]; then
  initialise "$@"
fi
exec mariadbd "$@"

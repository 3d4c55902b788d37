# Shared by scripts/start.sh, scripts/test.sh and .ci/run: a virtualenv with
# the pinned requirements, and the local PostgreSQL and Redis this machine runs.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  # Reinstall only when requirements.txt changed since the last install.
  local stamp="$VENV/.requirements.sha256"
  local want
  want="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r "$ROOT/requirements.txt"
    echo "$want" > "$stamp"
  fi
  # shellcheck disable=SC1091
  . "$VENV/bin/activate"
}

redis_up() {
  python3 - <<'PY' >/dev/null 2>&1
import socket, sys
host, port = "127.0.0.1", 6379
s = socket.create_connection((host, port), timeout=1)
s.sendall(b"PING\r\n")
sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
PY
}

ensure_redis() {
  redis_up && return 0
  if command -v redis-server >/dev/null; then
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
    for _ in $(seq 1 50); do redis_up && return 0; sleep 0.2; done
  fi
  echo "Redis is not answering on 127.0.0.1:6379; install and start it (see README)." >&2
  return 1
}

postgres_up() {
  pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null
}

ensure_postgres() {
  postgres_up && return 0
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 1 100); do postgres_up && return 0; sleep 0.2; done
  fi
  echo "PostgreSQL is not answering on 127.0.0.1:5432; install and start it (see README)." >&2
  return 1
}

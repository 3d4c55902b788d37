#!/usr/bin/env bash
# Start the whole stack for a first look: API, Celery worker and beat, and the
# offline Midtrans simulator, with demo data. Ctrl-C stops everything.
#
#   bash scripts/start.sh
#
# Development defaults: SQLite under instance/, Redis on 127.0.0.1:6379.
# Set DATABASE_URL to use PostgreSQL instead.
set -euo pipefail
. "$(dirname "$0")/common.sh"
cd "$ROOT"
ensure_venv
ensure_redis

API_PORT="${API_PORT:-5000}"
SIM_PORT="${SIM_PORT:-5055}"
export APP_ENV="${APP_ENV:-development}"
export MIDTRANS_SNAP_BASE_URL="${MIDTRANS_SNAP_BASE_URL:-http://127.0.0.1:$SIM_PORT/snap/v1}"
export MIDTRANS_API_BASE_URL="${MIDTRANS_API_BASE_URL:-http://127.0.0.1:$SIM_PORT}"
export MIDTRANS_NOTIFICATION_URL="${MIDTRANS_NOTIFICATION_URL:-http://127.0.0.1:$API_PORT/api/webhooks/midtrans}"
export SIMULATOR_PUBLIC_URL="${SIMULATOR_PUBLIC_URL:-http://127.0.0.1:$SIM_PORT}"
export SIMULATOR_NOTIFICATION_URL="${SIMULATOR_NOTIFICATION_URL:-$MIDTRANS_NOTIFICATION_URL}"

mkdir -p instance/logs
if ! flask --app wsgi db upgrade >instance/logs/migrate.log 2>&1; then
  cat instance/logs/migrate.log >&2
  exit 1
fi
seed_report="$(flask --app wsgi demo seed)"

pids=()
stop() {
  echo "Stopping..."
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

gunicorn simulator:app -b "127.0.0.1:$SIM_PORT" --access-logfile instance/logs/simulator.log \
  >>instance/logs/simulator.log 2>&1 & pids+=($!)
gunicorn wsgi:app -b "127.0.0.1:$API_PORT" -w 2 --access-logfile instance/logs/api.log \
  >>instance/logs/api.log 2>&1 & pids+=($!)
celery -A celery_worker worker --loglevel=INFO >>instance/logs/worker.log 2>&1 & pids+=($!)
celery -A celery_worker beat --loglevel=INFO --schedule instance/celerybeat-schedule \
  >>instance/logs/beat.log 2>&1 & pids+=($!)

for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$API_PORT/api/health" >/dev/null 2>&1 && break
  sleep 0.2
done

cat <<MSG

Web POS is running (logs in instance/logs/):
  API             http://127.0.0.1:$API_PORT/api
  API docs        http://127.0.0.1:$API_PORT/api/docs
  Health          http://127.0.0.1:$API_PORT/api/health
  Midtrans sim    http://127.0.0.1:$SIM_PORT

$seed_report

Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}"
echo "A process exited; see instance/logs/." >&2

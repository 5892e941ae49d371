#!/bin/sh
# Scheduled jobs for a single host (deploy/compose.yaml's `worker` service). Kubernetes uses
# CronJobs instead (deploy/k8s/base/cronjobs.yaml); run one or the other, never both.
#
#   every minute        moot results close-due          close votes whose voting phase has ended
#   every hour          moot notifications digest       queue the daily and weekly email digests
#   daily, from 02:00   moot export --out /export       the open data package (EXPORT_DIR)
#   (all times UTC)
#
# Every command is safe to run again, so a restart of this loop only repeats work harmlessly. A
# failing command is logged and retried on its next turn; the loop itself keeps going.
set -u
export_dir="${EXPORT_DIR:-/export}"
last_digest=""
last_export=""
trap 'exit 0' TERM INT

run() {
    moot "$@" || echo "worker: moot $* failed (exit $?); retrying on its next turn" >&2
}

while :; do
    run results close-due
    hour=$(date -u +%Y-%m-%dT%H)
    if [ "$hour" != "$last_digest" ]; then
        run notifications digest
        last_digest=$hour
    fi
    day=$(date -u +%Y-%m-%d)
    if [ "$(date -u +%H)" -ge 2 ] && [ "$day" != "$last_export" ]; then
        run export --out "$export_dir"
        last_export=$day
    fi
    # Sleep to the next minute; in the background, so that `docker stop` (SIGTERM) ends it at once.
    sleep $((60 - $(date +%s) % 60)) &
    wait $!
done

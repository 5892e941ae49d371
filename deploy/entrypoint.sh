#!/bin/sh
# The container's entrypoint. No arguments: serve the app on port 8000 with WEB_CONCURRENCY
# worker processes. Arguments: run that `moot` subcommand, e.g. `db upgrade`.
set -eu
if [ "$#" -eq 0 ]; then
    exec moot serve --host 0.0.0.0 --port 8000 --workers "${WEB_CONCURRENCY:-2}"
fi
exec moot "$@"

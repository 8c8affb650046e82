#!/bin/sh
# Migrate, then serve with Daphne; any other command given to the container runs instead.
set -e
if [ "$#" -gt 0 ]; then
    exec "$@"
fi
python manage.py migrate --noinput
# No --proxy-headers: Daphne would take the client's address from the first X-Forwarded-For
# entry, which the client writes itself. PLAYGROUND_TRUSTED_PROXIES says whose header to read.
exec python -m playground.launch --bind 0.0.0.0 --port "${PORT:-8000}"

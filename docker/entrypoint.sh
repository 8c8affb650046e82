#!/bin/sh
# Migrate, then serve with Daphne; any other command given to the container runs instead.
set -e
if [ "$#" -gt 0 ]; then
    exec "$@"
fi
python manage.py migrate --noinput
python manage.py mark_interrupted
# No --proxy-headers: Daphne would take the client's address from the first X-Forwarded-For
# entry, which the client writes itself. PLAYGROUND_TRUSTED_PROXIES says whose header to read.
# Messages up to 4 MiB reach the app, which answers those over its 1 MiB limit clearly
# (PLAYGROUND_MAX_MESSAGE_BYTES); past Daphne's own limit the socket would just close.
exec daphne --bind 0.0.0.0 --port "${PORT:-8000}" \
    --websocket-max-message-size 4194304 --websocket-max-frame-size 4194304 \
    playground.asgi:application

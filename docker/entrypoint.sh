#!/bin/sh
# Migrate, then serve with Daphne; any other command given to the container runs instead.
set -e
if [ "$#" -gt 0 ]; then
    exec "$@"
fi
python manage.py migrate --noinput
python manage.py mark_interrupted
exec daphne --bind 0.0.0.0 --port "${PORT:-8000}" --proxy-headers playground.asgi:application

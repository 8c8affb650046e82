"""Exit 0 when PostgreSQL and Redis answer at the given URLs; else say which does not."""

import sys

import psycopg
import redis


def main(database_url: str, redis_url: str) -> int:
    problems = []
    try:
        psycopg.connect(
            database_url.replace("postgres://", "postgresql://"), connect_timeout=3
        ).close()
    except psycopg.Error as exc:
        problems.append(f"PostgreSQL at {database_url}: {str(exc).strip().splitlines()[0]}")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        problems.append(f"Redis at {redis_url}: {exc}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))

"""One of the processes of the run-cap and run-rate races in test_run_cap.py and
test_rate_limits.py.

`python -m tests.transcripts.start_runs THREADS CAP PER_MINUTE`, with DATABASE_URL naming the
test database (a limit of 0 is none). Prints "ready" once every thread holds a database
connection. Then, for each user id read from stdin, its threads load the user and it prints
"armed"; on the next line ("go") they all start a run for that user at once, and it prints
their outcomes as one JSON list ("started" or "refused"). Arming first leaves nothing but the
start between the two processes' "go".
"""

import json
import queue
import sys
import threading
import time

import django


def main(threads: int, cap: int, per_minute: int) -> None:
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from playground.transcripts.services import (
        RateLimitReached,
        RateLimits,
        RunCapReached,
        transcript_start,
    )

    rates = RateLimits(runs_per_minute=per_minute) if per_minute else None

    barrier = threading.Barrier(threads + 1)  # the threads and the main one, which says go
    inboxes = [queue.Queue() for _ in range(threads)]
    outcomes: queue.Queue = queue.Queue()

    def start_one(user) -> str:
        try:
            transcript_start(
                user=user,
                endpoint="paid",
                model="m",
                request_body={},
                form_state={},
                cap=cap or None,
                rates=rates,
            )
        except (RunCapReached, RateLimitReached):
            return "refused"
        return "started"

    def worker(inbox: queue.Queue) -> None:
        connection.ensure_connection()  # connected before the race, not during it
        outcomes.put("connected")
        while (user_id := inbox.get()) is not None:
            user = get_user_model().objects.get(pk=user_id)
            barrier.wait()
            try:
                outcomes.put(start_one(user))
            except Exception as exc:  # reported to the test, which fails on it
                outcomes.put(f"error: {exc!r}")
        connection.close()

    pool = [threading.Thread(target=worker, args=(inbox,)) for inbox in inboxes]
    for thread in pool:
        thread.start()
    for _ in pool:
        outcomes.get()
    print("ready", flush=True)
    for line in sys.stdin:
        for inbox in inboxes:
            inbox.put(int(line))
        while barrier.n_waiting < threads:  # every thread loaded the user and waits
            time.sleep(0.001)
        print("armed", flush=True)
        sys.stdin.readline()
        barrier.wait()
        print(json.dumps([outcomes.get() for _ in pool]), flush=True)
    for inbox in inboxes:
        inbox.put(None)
    for thread in pool:
        thread.join()


if __name__ == "__main__":
    main(*map(int, sys.argv[1:4]))

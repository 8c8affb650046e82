"""The per-user cap on runs going at once holds when starts collide, across processes too."""

import json
import os
import queue
import subprocess
import sys
import threading
from contextlib import ExitStack
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from playground.transcripts.models import Transcript
from playground.transcripts.services import RunCapReached, transcript_start

from ..helpers import ROOT, database_url

CAP = 3
PROCESSES, THREADS = 2, 3
ROUNDS = 20
S = Transcript.Status


def start(user, *, cap: int | None = CAP) -> Transcript:
    return transcript_start(
        user=user, endpoint="simulator", model="m", request_body={}, form_state={}, cap=cap
    )


@pytest.mark.django_db
def test_the_cap_refuses_a_start_with_a_clear_message_and_counts_only_live_runs(
    alice, make_transcript
):
    stale = timezone.now() - timedelta(minutes=5)
    make_transcript(alice, status=S.RUNNING, heartbeat_at=stale)  # its server died
    make_transcript(alice, status=S.COMPLETED)
    for _ in range(CAP):
        start(alice)
    with pytest.raises(RunCapReached) as refused:
        start(alice)
    assert str(refused.value) == (
        "You have 3 runs going, the most allowed at once: stop one or let it finish."
    )
    assert start(alice, cap=None).status == S.RUNNING, "no cap: the keyword API as before"


class Starters:
    """PROCESSES processes of THREADS threads each (tests/transcripts/start_runs.py) on the
    test database, starting runs for one user all at once when told, under the cap on runs
    going and the limit of runs per minute (0: none)."""

    def __init__(self, *, cap: int = CAP, per_minute: int = 0):
        self.limits = [str(cap), str(per_minute)]

    def __enter__(self) -> "Starters":
        self.stack = ExitStack()
        env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict)}
        command = [sys.executable, "-m", "tests.transcripts.start_runs", str(THREADS)]
        command += self.limits
        pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        self.processes = [
            self.stack.enter_context(
                subprocess.Popen(command, cwd=ROOT, env=env, text=True, **pipes)
            )
            for _ in range(PROCESSES)
        ]
        self.lines = [queue.Queue() for _ in self.processes]
        self.errors: list[list[str]] = [[] for _ in self.processes]
        # stderr is read too: a full pipe that nobody reads would block the process.
        self.error_readers = [
            threading.Thread(target=errors.extend, args=(process.stderr,), daemon=True)
            for process, errors in zip(self.processes, self.errors, strict=True)
        ]
        for process, lines, reader in zip(
            self.processes, self.lines, self.error_readers, strict=True
        ):
            threading.Thread(target=self._read, args=(process, lines), daemon=True).start()
            reader.start()
        try:
            for number in range(PROCESSES):
                assert self._next(number) == "ready\n"
        except BaseException:
            self.__exit__()
            raise
        return self

    @staticmethod
    def _read(process: subprocess.Popen, lines: queue.Queue) -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put("")  # it exited

    def _next(self, number: int) -> str:
        line = self.lines[number].get(timeout=60)
        if not line:
            self.error_readers[number].join(timeout=10)
            raise AssertionError(f"a starter exited: {''.join(self.errors[number])}")
        return line

    def start_at_once(self, user) -> list[str]:
        self._tell_all(f"{user.pk}")
        for number in range(PROCESSES):
            assert self._next(number) == "armed\n"
        self._tell_all("go")
        return [outcome for n in range(PROCESSES) for outcome in json.loads(self._next(n))]

    def _tell_all(self, line: str) -> None:
        for process in self.processes:  # back to back, so that they act at once
            process.stdin.write(f"{line}\n")
            process.stdin.flush()

    def __exit__(self, *exc) -> None:
        """End of stdin: each process ends its threads and exits; one that hangs is killed."""
        for process in self.processes:
            process.stdin.close()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.stack.close()


@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
def test_starts_at_once_from_two_processes_never_pass_the_cap(django_user_model):
    """6 starts at once, 3 in each of 2 processes, against a cap of 3, ROUNDS times over."""
    users = [django_user_model.objects.create_user(f"racer{n}") for n in range(ROUNDS)]
    with Starters() as starters:
        outcomes = [sorted(starters.start_at_once(user)) for user in users]
    running = [Transcript.objects.filter(user=user, status=S.RUNNING).count() for user in users]
    over = [count for count in running if count > CAP]
    assert not over, f"{len(over)} of {ROUNDS} rounds let more than {CAP} runs start: {running}"
    assert running == [CAP] * ROUNDS
    expected = ["refused"] * (PROCESSES * THREADS - CAP) + ["started"] * CAP
    assert outcomes == [expected] * ROUNDS

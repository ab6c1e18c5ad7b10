"""The process executor's connection permits (``runner.permits``), between real processes: a
worker process that dies never takes a permit with it.

Waits are bounded by ``WAIT``, reached only when a test fails.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from multiprocessing.synchronize import Event

from nornir_runbook.runner.permits import PermitServer, ProcessGate

WAIT = 10.0
CONTEXT = multiprocessing.get_context("forkserver")  # as the process executor's workers


def hold_then_die(gate: ProcessGate, holding: Event, die: Event) -> None:
    """(In a child process.) Take a permit, say so, and die holding it."""
    gate.__enter__()
    holding.set()
    die.wait(WAIT)
    os._exit(0)


def take_one(gate: ProcessGate) -> threading.Event:
    """Set once a permit of ``gate`` was taken (and given back) in a thread of this process."""
    got = threading.Event()

    def take() -> None:
        with gate:
            pass
        got.set()

    threading.Thread(target=take, daemon=True).start()
    return got


def settled(server: PermitServer) -> int:
    """Permits held once the server has seen every dead process go (a bounded wait)."""
    deadline = time.monotonic() + WAIT
    while server.held() and time.monotonic() < deadline:
        time.sleep(0.01)
    return server.held()


def test_a_process_that_dies_holding_a_permit_gives_it_back() -> None:
    server = PermitServer(1)
    try:
        holding, die = CONTEXT.Event(), CONTEXT.Event()
        child = CONTEXT.Process(target=hold_then_die, args=(server.gate(), holding, die))
        child.start()
        assert holding.wait(WAIT)
        assert server.held() == 1
        die.set()
        child.join(WAIT)
        assert child.exitcode == 0

        # the only permit is the dead process's: this waits for ever unless it came back
        assert take_one(server.gate()).wait(WAIT)
    finally:
        server.close()


def test_a_process_killed_while_it_waits_for_a_permit_takes_none() -> None:
    server = PermitServer(1)
    try:
        holding, die = CONTEXT.Event(), CONTEXT.Event()
        holder = CONTEXT.Process(target=hold_then_die, args=(server.gate(), holding, die))
        holder.start()
        assert holding.wait(WAIT)
        # asks for the permit the holder has, whenever it gets there; killed meanwhile
        waiter = CONTEXT.Process(target=hold_then_die, args=(server.gate(), CONTEXT.Event(), die))
        waiter.start()
        waiter.terminate()
        waiter.join(WAIT)
        die.set()
        holder.join(WAIT)

        assert take_one(server.gate()).wait(WAIT)
        assert settled(server) == 0  # not even the one the waiter may have been granted
    finally:
        server.close()


def test_permits_are_given_back_in_order_of_release() -> None:
    """Two permits, three takers in this process: the third gets one when one is given back."""
    server = PermitServer(2)
    gate = server.gate()
    release = threading.Event()
    inside = threading.Barrier(3, timeout=WAIT)  # two holders and the test

    def hold() -> None:
        with gate:
            inside.wait()
            release.wait(WAIT)

    holders = [threading.Thread(target=hold, daemon=True) for _ in range(2)]
    try:
        for holder in holders:
            holder.start()
        inside.wait()  # both permits are held
        assert server.held() == 2
        third = take_one(gate)
        release.set()
        assert third.wait(WAIT)
        for holder in holders:
            holder.join(WAIT)
        assert server.held() == 0
    finally:
        release.set()
        server.close()

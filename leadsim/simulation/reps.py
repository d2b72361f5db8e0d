"""Reps as SimPy processes pulling work from a priority queue.

A :class:`WorkQueue` is a heap of ``(key, seq, item)`` with lazy deletion:
re-prioritising (an escalation moving a lead to the front) pushes a new entry
and invalidates the old one through the item's version; a lead going cold is
withdrawn the same way.  Each :class:`Rep` is a process that, while on shift,
pops the best item and serves it.  A rep with nothing to do waits on one
wake-up event, across shift ends: :meth:`WorkQueue.put` triggers it, at once
if the rep is on shift, else at the next opening (so idle time costs no
events).  Handling time is measured in shift minutes: work that does not fit
before the shift ends continues at the next shift, and the rep serves one
item at a time.

>>> import simpy
>>> env = simpy.Environment()
>>> q = WorkQueue(env)
>>> served = []
>>> def serve(rep, item):
...     served.append((env.now, rep.name, item.name))
...     yield env.timeout(10)
>>> reps = [Rep(env, f"sdr{i}", q, serve) for i in range(2)]
>>> for k, name in enumerate("abc"):
...     q.put(Item(name), key=(k,))
>>> env.run()
>>> served
[(0, 'sdr0', 'a'), (0, 'sdr1', 'b'), (10, 'sdr0', 'c')]
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

import simpy

from leadsim.simulation.clocks import INF, WorkTime

__all__ = ["LATE", "Item", "Later", "Rep", "Wakeup", "WorkQueue"]

LATE = simpy.core.NORMAL + 1
"""The priority of an event processed after every normal event due at the same moment (the SLA tie rule)."""


class Later(simpy.Event):
    """An event that succeeds ``delay`` from now, at ``priority``: a :class:`simpy.Timeout` that can be told to
    come after everything else due then (``priority=LATE``).  Built the way SimPy builds a Timeout.

    >>> env = simpy.Environment()
    >>> order = []
    >>> Later(env, 5, priority=LATE).callbacks.append(lambda e: order.append("late"))
    >>> env.timeout(5).callbacks.append(lambda e: order.append("normal"))
    >>> env.run()
    >>> order
    ['normal', 'late']
    """

    def __init__(self, env: simpy.Environment, delay: float = 0.0, priority: int = simpy.core.NORMAL):
        if delay < 0:
            raise ValueError(f"negative delay {delay}")
        super().__init__(env)
        self._ok = True  # triggered, with no value: as simpy.Timeout.__init__ does
        self._value = None
        env.schedule(self, priority, delay)


class Wakeup(simpy.Event):
    """An event a process waits on, rung later by someone else: :meth:`ring` schedules it ``delay`` from now."""

    def ring(self, delay: float = 0.0) -> None:
        self._ok = True  # triggered, with no value: as simpy.Timeout.__init__ does
        self._value = None
        self.env.schedule(self, simpy.core.NORMAL, delay)


class Item:
    """Something waiting for a rep (a lead's next piece of work)."""

    __slots__ = ("data", "enqueued_at", "lead", "name", "queued", "ready_at", "version")

    def __init__(self, name: Any = None, lead: Any = None):
        self.name = name
        self.lead = lead
        self.enqueued_at = 0.0
        self.queued = False
        self.version = 0
        self.ready_at = 0.0
        self.data: Any = None


class WorkQueue:
    """A priority queue of :class:`Item` with lazy deletion and idle-rep wake-ups."""

    def __init__(self, env: simpy.Environment):
        self.env = env
        self._heap: list[tuple[Any, int, int, Item]] = []
        self._seq = 0
        self.idle: deque[Rep] = deque()
        self.n = 0  # items currently queued

    def __len__(self) -> int:
        return self.n

    def put(self, item: Item, key: Any) -> None:
        """Queue ``item`` (or re-prioritise it if queued) and wake an idle rep."""
        if not item.queued:
            item.queued = True
            item.enqueued_at = self.env.now
            self.n += 1
        item.version += 1
        self._seq += 1
        heapq.heappush(self._heap, (key, self._seq, item.version, item))
        while self.idle:
            if self.idle.popleft().wake():
                break

    def withdraw(self, item: Item) -> bool:
        """Take ``item`` out of the queue (it went cold); False if a rep has it."""
        if not item.queued:
            return False
        item.queued = False
        self.n -= 1
        return True

    def pop(self) -> Item | None:
        heap = self._heap
        while heap:
            _, _, version, item = heapq.heappop(heap)
            if item.queued and version == item.version:
                item.queued = False
                self.n -= 1
                return item
        return None


class Rep:
    """One SDR or sales rep: a SimPy process serving items while on shift.

    ``serve(rep, item)`` is a generator doing the work (its timeouts are the
    handling time); ``shift`` (a :class:`WorkTime`) limits when the rep picks
    up work, or ``None`` for around the clock.  ``busy`` collects the shift
    minutes worked; :meth:`work` turns a handling time into the (wall) time
    the work ends, continuing over the next shift if needed.
    """

    def __init__(self, env: simpy.Environment, name: str, queue: WorkQueue,
                 serve: Callable[[Rep, Item], Generator[Any, Any, Any]], shift: WorkTime | None = None):
        self.env = env
        self.name = name
        self.queue = queue
        self.serve = serve
        self.shift = shift
        self.waiting: Wakeup | None = None
        self.busy = 0.0
        self.current: Item | None = None
        self.joined = env.now  # on the team from (minutes) ...
        self.left = INF  # ... until (a scenario's dated change may take a rep off it)
        self.process = env.process(self._run())

    def retire(self) -> None:
        """Off the team from now: work in hand is finished, nothing new is picked up."""
        self.left = self.env.now
        if self.waiting is not None and not self.waiting.triggered:
            self.waiting.ring()

    def open_minutes(self, horizon: float) -> float:
        """The shift minutes this rep was on the team within ``[0, horizon)``."""
        end = min(self.left, horizon)
        if end <= self.joined:
            return 0.0
        return end - self.joined if self.shift is None else self.shift.open_minutes(self.joined, end)

    @property
    def free(self) -> bool:
        """On shift with nothing to do (and not already called to work)."""
        ev = self.waiting
        return (ev is not None and not ev.triggered and self.left == INF
                and (self.shift is None or self.shift.is_open(self.env.now)))

    def wake(self) -> bool:
        """Called to work (new work queued): now if on shift, else at the next opening.

        False if the rep is not waiting, or will never be on shift again.
        """
        ev = self.waiting
        if ev is None or ev.triggered or self.left != INF:
            return False
        at = self.env.now if self.shift is None else self.shift.next_open(self.env.now)
        if at == INF:
            return False
        ev.ring(at - self.env.now)
        return True

    def work(self, minutes: float) -> simpy.Timeout:
        """A timeout for ``minutes`` of shift time starting now."""
        self.busy += minutes
        if self.shift is None:
            return self.env.timeout(minutes)
        end = self.shift.add_minutes(self.env.now, minutes)
        return self.env.timeout(end - self.env.now)

    def _run(self) -> Generator[Any, Any, None]:
        env, queue, shift = self.env, self.queue, self.shift
        while True:
            if env.now >= self.left:
                return
            if shift is not None and not shift.is_open(env.now):
                nxt = shift.next_open(env.now)
                if nxt == INF:
                    return
                yield env.timeout(nxt - env.now)
                continue
            item = queue.pop()
            if item is None:
                self.waiting = Wakeup(env)
                queue.idle.append(self)
                yield self.waiting
                self.waiting = None
                continue
            self.current = item
            yield from self.serve(self, item)
            self.current = None

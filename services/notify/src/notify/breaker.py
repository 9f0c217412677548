"""A circuit breaker per SMS provider: after repeated failures the provider is skipped for a while."""

from __future__ import annotations

import time
from collections.abc import Callable


class CircuitBreaker:
    """Closed while calls succeed; open after `failures` consecutive failures; half-open after `reset_s`."""

    def __init__(self, failures: int, reset_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = failures
        self.reset_s = reset_s
        self.clock = clock
        self.consecutive = 0
        self.opened_at: float | None = None

    @property
    def state(self) -> str:
        """`closed`, `open` or `half_open`."""
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.clock() - self.opened_at >= self.reset_s else "open"

    def allow(self) -> bool:
        """Whether a call may go to the provider now (one trial call when half-open)."""
        return self.state != "open"

    def success(self) -> None:
        """A call succeeded: close the breaker."""
        self.consecutive, self.opened_at = 0, None

    def failure(self) -> None:
        """A call failed: count it, open (or re-open after a failed trial) at the threshold."""
        self.consecutive += 1
        if self.consecutive >= self.threshold or self.opened_at is not None:
            self.opened_at = self.clock()

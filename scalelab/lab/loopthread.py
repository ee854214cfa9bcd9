"""An asyncio event loop in a daemon thread, so the lab works the same in a script and in a
Jupyter kernel whose own loop is already running (``asyncio.run`` cannot nest there).

The lab's proxy, health checks and load generator share one. Other threads hand it
coroutines with :meth:`LoopThread.run` (wait for the result) or :meth:`LoopThread.submit`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading


class LoopThread:
    """A private event loop running in its own daemon thread.

    >>> import asyncio
    >>> loop = LoopThread("example")
    >>> loop.run(asyncio.sleep(0, result=42))
    42
    >>> loop.stop()
    """

    def __init__(self, name: str = "scalelab-loop"):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self.loop.is_closed()

    def in_loop_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, coro) -> concurrent.futures.Future:
        """Schedule ``coro`` on the loop; return a ``concurrent.futures.Future``."""
        if not self.alive:
            coro.close()
            raise RuntimeError("this loop has been stopped")
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro, timeout: float | None = None):
        """Run ``coro`` on the loop and wait for its result. An interrupt (Ctrl-C, Jupyter's
        stop button) or the timeout cancels it."""
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError("LoopThread.run called from its own loop: await the coroutine")
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()
            raise

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel every task, let them finish their clean-up, stop the loop and close it."""
        if not self.alive:
            return
        if not self.in_loop_thread():
            try:
                asyncio.run_coroutine_threadsafe(self._cancel_all(), self.loop).result(timeout)
            except (concurrent.futures.TimeoutError, RuntimeError):
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self.loop.close()
        else:
            self.loop.stop()

    async def _cancel_all(self) -> None:
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

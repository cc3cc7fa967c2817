"""What ``ember train`` shows while it runs, in one of three modes:

* ``"bars"`` (a terminal): one bar for the whole run (with the time left, ETA, and the last validation
  numbers) and, under it, a bar for the current epoch; the per-epoch lines print above the bars;
* ``"lines"`` (output piped to a file or a CI log): no carriage returns, just one plain line per epoch
  with the elapsed time and an ETA;
* ``"quiet"`` (``--quiet``): nothing until the final result.
"""
import sys
import time

__all__ = ["Progress", "format_seconds"]


def format_seconds(s):
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    s = int(round(s))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Progress:
    """Shows the progress of ``total_steps`` batches over ``epochs`` epochs, of which ``done_steps``
    were done before this process started (a resumed run)."""

    ESTIMATE_AFTER = 5  # batches timed before the up-front estimate of the run's length

    def __init__(self, total_steps, done_steps, quiet=False, stream=None):
        stream = sys.stderr if stream is None else stream
        self.mode = "quiet" if quiet else ("bars" if _isatty(stream) else "lines")
        self.total, self.done, self.start_done = total_steps, done_steps, done_steps
        self.t0 = time.perf_counter()
        self.estimated = False
        self.overall = self.epoch_bar = None
        if self.mode == "bars":
            from tqdm import tqdm
            self._tqdm = tqdm
            self.overall = tqdm(total=total_steps, initial=done_steps, desc="training", unit="batch",
                                position=0, dynamic_ncols=True, file=stream)

    def print(self, line):
        """A line of output (above the bars when there are bars)."""
        if self.mode == "quiet":
            return
        if self.mode == "bars":
            self._tqdm.write(line, file=sys.stdout)
        else:
            print(line, flush=True)

    def start_epoch(self, epoch, epochs, steps, first_step=0):
        if self.mode == "bars":
            self.epoch_bar = self._tqdm(total=steps, initial=first_step, desc=f"epoch {epoch}/{epochs}",
                                        unit="batch", position=1, leave=False, dynamic_ncols=True,
                                        file=self.overall.fp)

    def step(self, loss):
        """One batch done, with the running train loss of this epoch."""
        self.done += 1
        if self.mode == "bars":
            self.epoch_bar.update()
            self.epoch_bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
            self.overall.update()
        if not self.estimated and self.done - self.start_done == self.ESTIMATE_AFTER:
            self.estimated = True
            self.print(f"estimated time: about {format_seconds(self.eta())} "
                       f"(from the first {self.ESTIMATE_AFTER} batches)")

    def eta(self):
        """Seconds left at the pace of this process so far."""
        done_here = self.done - self.start_done
        if done_here == 0:
            return float("nan")
        return (time.perf_counter() - self.t0) / done_here * (self.total - self.done)

    def end_epoch(self, line, postfix):
        """An epoch finished: its line, and its validation numbers into the overall bar."""
        if self.mode == "bars":
            self.epoch_bar.close()
            self.overall.set_postfix(postfix, refresh=True)
        elif self.mode == "lines" and self.done < self.total:
            line += f"  ETA {format_seconds(self.eta())}"
        self.print(line)

    def close(self):
        for bar in (self.epoch_bar, self.overall):
            if bar is not None:
                bar.close()
        self.epoch_bar = self.overall = None


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

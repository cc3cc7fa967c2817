"""What a profiler run recorded: events, their averages per name, and the table that prints them.

Each ``FunctionEvent`` is one timed interval -- an op's forward (``aten::addmm``), a backward node
(``AddmmBackward0``), an optimizer step, or a ``record_function`` block -- with its parent and children,
so *self* time (the interval minus its children's) tells where time is spent rather than merely passed
through. ``EventList.key_averages()`` sums the events per name into ``FunctionEventAvg`` rows, and
``table()`` prints them in torch's layout. Times are microseconds, as in torch.
"""
import json

__all__ = ["FunctionEvent", "FunctionEventAvg", "EventList"]


class Interval:
    """``start``/``end`` in microseconds since the profiler started."""

    def __init__(self, start, end=None):
        self.start, self.end = start, end if end is not None else start

    def elapsed_us(self):
        return self.end - self.start


class FunctionEvent:
    """One recorded interval on one thread."""

    def __init__(self, id, name, thread, start_us, input_shapes=None, is_user_annotation=False):
        self.id, self.name, self.thread = id, name, thread
        self.time_range = Interval(start_us)
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.is_user_annotation = is_user_annotation
        self.cpu_children, self.cpu_parent = [], None
        self.count = 1
        self.stack, self.scope, self.node_id = [], 0, -1
        self.device_type, self.is_async, self.is_remote, self.is_legacy = "cpu", False, False, False

    key = property(lambda self: self.name)

    @property
    def cpu_time_total(self):
        return self.time_range.elapsed_us()

    @property
    def self_cpu_time_total(self):
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    cpu_time = cpu_time_total
    device_time_total = self_device_time_total = 0.0
    cpu_memory_usage = self_cpu_memory_usage = 0
    flops = 0

    def __repr__(self):
        return (f"<FunctionEvent id={self.id} name={self.name} cpu_time={_format_time(self.cpu_time_total)} "
                f"start_us={self.time_range.start:.3f} end_us={self.time_range.end:.3f} "
                f"cpu_children={[c.id for c in self.cpu_children]} input_shapes={self.input_shapes}>")


class FunctionEventAvg:
    """The events of one name (and, grouped so, one input-shape list) added up."""

    def __init__(self, key, input_shapes=None):
        self.key, self.input_shapes = key, input_shapes if input_shapes is not None else []
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.is_user_annotation = False
        self.device_time_total = self.self_device_time_total = 0.0
        self.cpu_memory_usage = self.self_cpu_memory_usage = 0
        self.flops = 0
        self.node_id, self.is_legacy, self.is_remote, self.stack = -1, False, False, []

    def add(self, ev):
        self.count += ev.count
        self.cpu_time_total += ev.cpu_time_total
        self.self_cpu_time_total += ev.self_cpu_time_total
        self.is_user_annotation = ev.is_user_annotation
        return self

    __iadd__ = add

    @property
    def cpu_time(self):
        """The average time of one call."""
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={_format_time(self.self_cpu_time_total)} "
                f"cpu_time={_format_time(self.cpu_time)} input_shapes={self.input_shapes}>")


class EventList(list):
    """A list of events (or of averages) that can sum itself per name and print itself as a table."""

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0):
        """One ``FunctionEventAvg`` per event name (per name and input shapes with ``group_by_input_shape``)."""
        rows = {}
        for ev in self:
            key = (ev.name, str(ev.input_shapes)) if group_by_input_shape else ev.name
            if key not in rows:
                rows[key] = FunctionEventAvg(ev.name, ev.input_shapes if group_by_input_shape else None)
            rows[key].add(ev)
        return EventList(rows.values())

    def total_average(self):
        total = FunctionEventAvg("Total")
        for ev in self:
            total.count += ev.count
            total.cpu_time_total += ev.cpu_time_total
            total.self_cpu_time_total += ev.self_cpu_time_total
        return total

    @property
    def self_cpu_time_total(self):
        return sum(ev.self_cpu_time_total for ev in self)

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False):
        """torch's profiler table: name, self and total CPU time (absolute and % of all self time), calls.
        ``sort_by``: an attribute such as ``"self_cpu_time_total"`` or ``"cpu_time_total"`` (descending)."""
        rows = [ev for ev in self if not top_level_events_only or getattr(ev, "cpu_parent", None) is None]
        if sort_by is not None:
            key = sort_by.replace("cuda", "device")
            rows.sort(key=lambda ev: getattr(ev, key, 0), reverse=True)
        rows = rows[:row_limit] if row_limit is not None and row_limit >= 0 else rows
        total = self.self_cpu_time_total or 1.0
        shapes = any(ev.input_shapes for ev in self)
        name_w = min(max([len(ev.key) for ev in rows] + [4]) + 4, max_name_column_width + 4)
        cols = [("Name", name_w), ("Self CPU %", 12), ("Self CPU", 12), ("CPU total %", 12), ("CPU total", 12),
                ("CPU time avg", 12), ("# of Calls", 12)]
        if shapes:
            shape_w = min(max([len(str(ev.input_shapes)) for ev in rows] + [12]) + 4, max_shapes_column_width)
            cols.append(("Input Shapes", shape_w))
        line = "  ".join("-" * w for _, w in cols) + "  "
        out = [] if header is None else [header]
        out += [line, "  ".join(title.rjust(w) for title, w in cols) + "  ", line]
        for ev in rows:
            name = ev.key if len(ev.key) <= max_name_column_width else ev.key[:max_name_column_width - 3] + "..."
            cells = [name, f"{100 * ev.self_cpu_time_total / total:.2f}%", _format_time(ev.self_cpu_time_total),
                     f"{100 * ev.cpu_time_total / total:.2f}%", _format_time(ev.cpu_time_total),
                     _format_time(ev.cpu_time_total / max(ev.count, 1)), str(ev.count)]
            if shapes:
                cells.append(str(ev.input_shapes)[:cols[-1][1]])
            out.append("  ".join(c.rjust(w) for c, (_, w) in zip(cells, cols)) + "  ")
        out += [line, f"Self CPU time total: {_format_time(self.self_cpu_time_total)}", ""]
        return "\n".join(out)

    def export_chrome_trace(self, path):
        """Write the events as a Chrome trace (open it in chrome://tracing or https://ui.perfetto.dev)."""
        events = [{"ph": "X", "cat": "user_annotation" if ev.is_user_annotation else "cpu_op", "name": ev.name,
                   "pid": 0, "tid": ev.thread, "ts": ev.time_range.start, "dur": ev.cpu_time_total,
                   "args": {"Input Dims": ev.input_shapes} if ev.input_shapes else {}}
                  for ev in self if isinstance(ev, FunctionEvent)]
        with open(path, "w") as f:
            json.dump({"traceEvents": events, "displayTimeUnit": "ms"}, f)
        return path


def _format_time(us):
    """``us`` microseconds the way torch prints them: 12.345us, 1.234ms, 2.000s."""
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"

"""The event file: how TensorBoard's logs are stored on disk.

A file ``events.out.tfevents.<time>.<host>.<pid>.<n>`` is a sequence of TFRecords, each one serialized
``Event`` protocol buffer framed as::

    uint64 length | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)

(little-endian; the CRC-32C is "masked" — rotated and offset — so that a CRC of data that itself contains
CRCs is not trivially related). The first record says ``file_version = "brain.Event:2"``. Writes are
buffered: a record reaches the file when ``max_queue`` are pending, every ``flush_secs`` (a background
timer), on ``flush()`` and on ``close()``.
"""
import atexit
import itertools
import os
import socket
import struct
import threading
import time

from tensorboardX.crc32c import crc32c
from tensorboardX.proto.event_pb2 import Event

__all__ = ["EventFileWriter", "masked_crc32c", "tf_record"]

_FILE_COUNT = itertools.count()  # numbers this process's event files, as torch does


def masked_crc32c(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tf_record(data):
    """One TFRecord: the framed bytes of ``data``."""
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc32c(header)) + data + struct.pack("<I", masked_crc32c(data))


class EventFileWriter:
    """Appends ``Event`` protos to a new event file in ``logdir`` (created if needed)."""

    def __init__(self, logdir, max_queue=10, flush_secs=120, filename_suffix=""):
        self._logdir = str(logdir)
        os.makedirs(self._logdir, exist_ok=True)
        name = "events.out.tfevents.%010d.%s.%s.%s%s" % (time.time(), socket.gethostname(), os.getpid(),
                                                         next(_FILE_COUNT), filename_suffix)
        self._path = os.path.join(self._logdir, name)
        self._file = open(self._path, "wb")
        self._pending = []
        self._max_queue = max(1, int(max_queue))
        self._lock = threading.Lock()
        self._closed = False
        self.add_event(Event(wall_time=time.time(), file_version="brain.Event:2"))
        self.flush()
        self._stop = threading.Event()
        self._timer = threading.Thread(target=self._flush_every, args=(float(flush_secs),), daemon=True)
        self._timer.start()
        atexit.register(self.close)

    def get_logdir(self):
        return self._logdir

    def _flush_every(self, secs):
        while not self._stop.wait(secs):
            self.flush()

    def add_event(self, event):
        """Queue one Event; the queue is written out once it holds ``max_queue`` records."""
        if self._closed:
            return
        with self._lock:
            self._pending.append(tf_record(event.SerializeToString()))
            full = len(self._pending) >= self._max_queue
        if full:
            self.flush()

    def flush(self):
        """Write every queued record to disk now."""
        with self._lock:
            if self._closed:
                return
            if self._pending:
                self._file.write(b"".join(self._pending))
                self._pending = []
            self._file.flush()

    def close(self):
        """Flush, stop the timer and close the file (later events are ignored)."""
        if self._closed:
            return
        self.flush()
        self._stop.set()
        with self._lock:
            self._closed = True
            self._file.close()
        atexit.unregister(self.close)

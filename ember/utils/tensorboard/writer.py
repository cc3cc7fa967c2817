"""``SummaryWriter``: torch's TensorBoard logger, writing real event files through tensorboardX.

A run is a directory (``runs/Dec05_04-42-45_host`` by default); in it an ``events.out.tfevents.*`` file holds
one record per logged value (TFRecord framing: length, CRC, a serialized ``Event`` proto, CRC). TensorBoard
(``tensorboard --logdir runs``) reads these files while training runs. The writer queues events and a
background thread flushes them every ``flush_secs`` or when ``max_queue`` are pending; ``flush()`` and
``close()`` (or leaving a ``with`` block) write everything now. Values may be Ember tensors, NumPy arrays
or Python numbers.
"""
import os
import time

import numpy as np

from tensorboardX.proto.event_pb2 import Event, SessionLog

from . import summary as S
from .event_file import EventFileWriter
from .summary import make_np

__all__ = ["SummaryWriter", "FileWriter"]


class FileWriter:
    """Writes ``Event`` protos to one event file in ``log_dir``; ``add_summary`` wraps a ``Summary`` in an
    Event stamped with the step and the wall time."""

    def __init__(self, log_dir, max_queue=10, flush_secs=120, filename_suffix=""):
        self.event_writer = EventFileWriter(str(log_dir), max_queue, flush_secs, filename_suffix)

    def get_logdir(self):
        return self.event_writer.get_logdir()

    def add_event(self, event, step=None, walltime=None):
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        self.event_writer.add_event(event)

    def add_summary(self, summary, global_step=None, walltime=None):
        self.add_event(Event(summary=summary), global_step, walltime)

    def add_graph(self, graph_profile, walltime=None):
        """``graph_profile``: ``(GraphDef, run metadata or None)``, as ``graph.graph`` returns."""
        self.add_event(Event(graph_def=graph_profile[0].SerializeToString()), None, walltime)

    def add_onnx_graph(self, graph, walltime=None):
        self.add_event(Event(graph_def=graph.SerializeToString()), None, walltime)

    def flush(self):
        self.event_writer.flush()

    def close(self):
        self.event_writer.close()


def _default_log_dir(comment):
    import socket
    from datetime import datetime
    return os.path.join("runs", datetime.now().strftime("%b%d_%H-%M-%S") + "_" + socket.gethostname() + comment)


class SummaryWriter:
    """Writes entries to event files in ``log_dir`` for TensorBoard to show.

    ``log_dir`` defaults to ``runs/<Mon><day>_<H-M-S>_<hostname><comment>``; ``purge_step`` tells TensorBoard to
    discard events at or after that step from an earlier, crashed run; ``max_queue`` / ``flush_secs`` control
    buffering; ``filename_suffix`` ends the event file's name."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120,
                 filename_suffix=""):
        if not log_dir:
            log_dir = _default_log_dir(comment)
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer = self.all_writers = None
        self._get_file_writer()
        # torch's default histogram buckets: +-1e-12 * 1.1^k up to 1e20, and 0
        v, pos = 1e-12, []
        while v < 1e20:
            pos.append(v)
            v *= 1.1
        self.default_bins = [-b for b in reversed(pos)] + [0] + pos

    def _get_file_writer(self):
        """The writer of ``log_dir`` (made again after ``close()``); ``purge_step`` is written once."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs,
                                          self.filename_suffix)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                self.file_writer.add_event(Event(step=self.purge_step, file_version="brain.Event:2"))
                self.file_writer.add_event(Event(step=self.purge_step,
                                                 session_log=SessionLog(status=SessionLog.START)))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self):
        """The directory the event files go to."""
        return self.log_dir

    # --- numbers ------------------------------------------------------------------------------------
    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        """One number (a Python number or a one-element tensor) at ``global_step``."""
        self._get_file_writer().add_summary(
            S.scalar(tag, scalar_value, new_style=new_style, double_precision=double_precision), global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Several curves in one chart: each ``tag`` goes to its own sub-run ``<log_dir>/<main_tag>_<tag>``."""
        walltime = time.time() if walltime is None else walltime
        fw_logdir = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            fw_tag = fw_logdir + "/" + main_tag.replace("/", "_") + "_" + tag
            fw = self.all_writers.get(fw_tag)
            if fw is None:
                fw = self.all_writers[fw_tag] = FileWriter(fw_tag, self.max_queue, self.flush_secs,
                                                           self.filename_suffix)
            fw.add_summary(S.scalar(main_tag, value), global_step, walltime)

    def add_tensor(self, tag, tensor, global_step=None, walltime=None):
        """A whole tensor, stored as a ``TensorProto``."""
        self._get_file_writer().add_summary(S.tensor_proto(tag, tensor), global_step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None, max_bins=None):
        """The distribution of ``values`` (weights, gradients ...): ``bins`` is ``'tensorflow'`` (torch's
        exponential buckets), a NumPy rule (``'auto'``, ``'fd'`` ...) or the bucket edges."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        self._get_file_writer().add_summary(S.histogram(tag, values, bins, max_bins=max_bins), global_step,
                                            walltime)

    def add_histogram_raw(self, tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts,
                          global_step=None, walltime=None):
        """A histogram you counted yourself (``bucket_limits``: the upper edge of each bucket)."""
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        self._get_file_writer().add_summary(
            S._tbx.histogram_raw(tag, min, max, num, sum, sum_squares, list(make_np(bucket_limits).tolist()),
                                 list(make_np(bucket_counts).tolist())), global_step, walltime)

    # --- images, figures, media ------------------------------------------------------------------
    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        """One image: float values in [0, 1] (scaled by 255, clipped) or uint8 in [0, 255];
        ``dataformats`` is ``'CHW'`` (default), ``'HWC'`` or ``'HW'``."""
        self._get_file_writer().add_summary(S.image(tag, img_tensor, dataformats=dataformats), global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        """A batch of images (``'NCHW'`` or ``'NHWC'``), tiled into one grid."""
        self._get_file_writer().add_summary(S.image(tag, img_tensor, dataformats=dataformats), global_step, walltime)

    def add_image_with_boxes(self, tag, img_tensor, box_tensor, global_step=None, walltime=None, rescale=1,
                             dataformats="CHW", labels=None):
        """An image with boxes (N x 4: xmin, ymin, xmax, ymax) and optional labels drawn on it."""
        if labels is not None:
            if isinstance(labels, str):
                labels = [labels]
            if len(labels) != box_tensor.shape[0]:
                labels = None
        self._get_file_writer().add_summary(
            S.image_boxes(tag, img_tensor, box_tensor, rescale=rescale, dataformats=dataformats, labels=labels),
            global_step, walltime)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        """A matplotlib figure (or a list of them), rendered to an image."""
        from tensorboardX.utils import figure_to_image
        if isinstance(figure, list):
            self.add_image(tag, figure_to_image(figure, close), global_step, walltime, dataformats="NCHW")
        else:
            self.add_image(tag, figure_to_image(figure, close), global_step, walltime, dataformats="CHW")

    def add_video(self, tag, vid_tensor, global_step=None, fps=4, walltime=None):
        """A video (N, T, C, H, W) as an animated GIF (needs ``moviepy``)."""
        self._get_file_writer().add_summary(S._tbx.video(tag, make_np(vid_tensor), fps), global_step, walltime)

    def add_audio(self, tag, snd_tensor, global_step=None, sample_rate=44100, walltime=None):
        """A sound clip (1, L) with values in [-1, 1]."""
        self._get_file_writer().add_summary(S.audio(tag, snd_tensor, sample_rate=sample_rate),
                                            global_step, walltime)

    # --- text, hyperparameters, graphs, embeddings ------------------------------------------------
    def add_text(self, tag, text_string, global_step=None, walltime=None):
        """A string (Markdown in TensorBoard's text tab)."""
        self._get_file_writer().add_summary(S.text(tag, text_string), global_step, walltime)

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None, global_step=None):
        """One run's hyperparameters and final metrics for the HParams tab, written to a sub-run
        ``<log_dir>/<run_name>`` (default: the current time), the metrics also as scalars there."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        exp, ssi, sei = S.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        if not run_name:
            run_name = str(time.time())
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(log_dir=logdir) as w_hp:
            w_hp.file_writer.add_summary(exp, global_step)
            w_hp.file_writer.add_summary(ssi, global_step)
            w_hp.file_writer.add_summary(sei, global_step)
            for k, v in metric_dict.items():
                w_hp.add_scalar(k, v, global_step)

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        """The model's forward pass as a graph: one node per Function it runs, grouped by module
        (recorded by running ``model(*input_to_model)`` once in eval mode; see ``graph.py``)."""
        from .graph import graph
        self._get_file_writer().add_graph(graph(model, input_to_model, verbose))

    def add_onnx_graph(self, prototxt):
        """The graph of an ONNX file (e.g. one written by ``torch.onnx.export``)."""
        from tensorboardX.onnx_graph import load_onnx_graph
        self._get_file_writer().add_onnx_graph(load_onnx_graph(prototxt))

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None, tag="default",
                      metadata_header=None):
        """Points (N, D) for the projector, with optional labels and thumbnail images (N, C, H, W)."""
        from tensorboardX.embedding import append_pbtxt, make_mat, make_sprite, make_tsv
        mat = make_np(mat)
        if mat.ndim != 2:
            raise AssertionError("mat should be 2D, where mat.size(0) is the number of data points")
        if global_step is None:
            global_step = 0
        subdir = f"{str(global_step).zfill(5)}/{self._encode(tag)}"
        save_path = os.path.join(self._get_file_writer().get_logdir(), subdir)
        os.makedirs(save_path, exist_ok=True)
        if metadata is not None:
            if mat.shape[0] != len(metadata):
                raise AssertionError("#labels should equal with #data points")
            make_tsv(metadata, save_path, metadata_header=metadata_header)
        if label_img is not None:
            label_img = make_np(label_img)
            if mat.shape[0] != label_img.shape[0]:
                raise AssertionError("#images should equal with #data points")
            make_sprite(label_img, save_path)
        make_mat(mat, save_path)
        append_pbtxt(metadata, label_img, self._get_file_writer().get_logdir(), subdir, global_step, tag)

    @staticmethod
    def _encode(rawstr):
        return rawstr.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")

    def add_pr_curve(self, tag, labels, predictions, global_step=None, num_thresholds=127, weights=None,
                     walltime=None):
        """A precision-recall curve from 0/1 ``labels`` and ``predictions`` in [0, 1]."""
        self._get_file_writer().add_summary(
            S._tbx.pr_curve(tag, make_np(labels), make_np(predictions).astype(np.float64), num_thresholds,
                            weights), global_step, walltime)

    def add_pr_curve_raw(self, tag, true_positive_counts, false_positive_counts, true_negative_counts,
                         false_negative_counts, precision, recall, global_step=None, num_thresholds=127,
                         weights=None, walltime=None):
        """A precision-recall curve from counts you computed yourself."""
        self._get_file_writer().add_summary(
            S._tbx.pr_curve_raw(tag, *(make_np(v) for v in (true_positive_counts, false_positive_counts,
                                                             true_negative_counts, false_negative_counts,
                                                             precision, recall)), num_thresholds, weights),
            global_step, walltime)

    def add_custom_scalars_multilinechart(self, tags, category="default", title="untitled"):
        """A chart of several scalar tags on one plot (custom scalars plugin)."""
        self._get_file_writer().add_summary(S._tbx.custom_scalars({category: {title: ["Multiline", tags]}}))

    def add_custom_scalars_marginchart(self, tags, category="default", title="untitled"):
        """A chart of a value and its lower/upper margin: exactly three tags."""
        if len(tags) != 3:
            raise AssertionError(f"Expected 3 tags, got {len(tags)}.")
        self._get_file_writer().add_summary(S._tbx.custom_scalars({category: {title: ["Margin", tags]}}))

    def add_custom_scalars(self, layout):
        """The custom scalars layout ``{category: {title: [kind, tags]}}``."""
        self._get_file_writer().add_summary(S._tbx.custom_scalars(layout))

    def add_mesh(self, tag, vertices, colors=None, faces=None, config_dict=None, global_step=None, walltime=None):
        """A 3-D mesh (B, N, 3) for the mesh plugin."""
        conv = (lambda v: None if v is None else make_np(v))
        self._get_file_writer().add_summary(
            S._tbx.mesh(tag, conv(vertices), conv(colors), conv(faces), config_dict), global_step, walltime)

    # --- lifetime -----------------------------------------------------------------------------------
    def flush(self):
        """Write every pending event to disk now."""
        if self.all_writers is None:
            return
        for w in self.all_writers.values():
            w.flush()

    def close(self):
        """Flush and close the event files (a later ``add_*`` opens a new one)."""
        if self.all_writers is None:
            return
        for w in self.all_writers.values():
            w.flush()
            w.close()
        self.file_writer = self.all_writers = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.close()

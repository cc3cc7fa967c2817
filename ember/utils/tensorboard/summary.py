"""Turning values into TensorBoard ``Summary`` protocol buffers, as ``torch.utils.tensorboard.summary`` does.

An event file is a sequence of ``Event`` records; each carries a step, a wall time and a ``Summary``: a list
of tagged values — a number (``simple_value``), a histogram, a PNG image, or a tensor that a plugin (text,
hparams) knows how to show. The protobuf classes come from tensorboardX; this module feeds them NumPy
arrays made from Ember tensors, and keeps torch's own rules where they differ from tensorboardX's
(float images are scaled by 255 *and clipped*; ``new_style`` scalars; discrete hparam domains).
"""
import numpy as np

from tensorboardX import summary as _tbx
from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
from tensorboardX.proto.tensor_pb2 import TensorProto
from tensorboardX.utils import convert_to_HWC

__all__ = ["make_np", "scalar", "histogram", "image", "image_boxes", "audio", "text", "hparams", "tensor_proto"]


def make_np(x):
    """A NumPy array from an Ember tensor (detached, on the CPU), a NumPy array, a list or a number."""
    from ...import Tensor
    if isinstance(x, Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple)) or np.isscalar(x):
        return np.array(x)
    if hasattr(x, "__array__"):  # e.g. a real torch tensor handed over by mistake still works
        return np.asarray(x)
    raise NotImplementedError(f"Got {type(x)}, but expected numpy array or torch tensor.")


def scalar(name, tensor, collections=None, new_style=False, double_precision=False):
    """One number: ``simple_value`` (classic), or a 1-element tensor for the scalars plugin (``new_style``)."""
    arr = make_np(tensor).squeeze()
    if arr.ndim != 0:
        raise AssertionError(f"Tensor should contain one element (0 dimensions). Was given size: {arr.size} "
                             f"and {arr.ndim} dimensions.")
    v = float(arr)
    if not new_style:
        return Summary(value=[Summary.Value(tag=name, simple_value=v)])
    proto = TensorProto(double_val=[v], dtype="DT_DOUBLE") if double_precision else \
        TensorProto(float_val=[v], dtype="DT_FLOAT")
    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
    return Summary(value=[Summary.Value(tag=name, tensor=proto, metadata=smd)])


def histogram(name, values, bins, max_bins=None):
    """Bucket counts of ``values`` (``np.histogram`` with ``bins``: a rule name or the bucket edges)."""
    return _tbx.histogram(name, make_np(values), bins, max_bins=max_bins)


def _to_uint8_hwc(tensor, dataformats):
    """torch's image rule: HWC layout; uint8 kept, anything else times 255, clipped to [0, 255]."""
    arr = convert_to_HWC(make_np(tensor), dataformats)
    scale = 1 if arr.dtype == np.uint8 else 255
    return (arr.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)


def image(tag, tensor, rescale=1, dataformats="NCHW"):
    """A PNG image; a batch (``N`` in ``dataformats``) is tiled into one grid, as torch does."""
    return _tbx.image(tag, _to_uint8_hwc(tensor, dataformats), rescale=rescale, dataformats="HWC")


def image_boxes(tag, tensor_image, tensor_boxes, rescale=1, dataformats="CHW", labels=None):
    """An image with rectangles (xmin, ymin, xmax, ymax) drawn on it."""
    return _tbx.image_boxes(tag, _to_uint8_hwc(tensor_image, dataformats), make_np(tensor_boxes),
                            rescale=rescale, dataformats="HWC", labels=labels)


def audio(tag, tensor, sample_rate=44100):
    """A mono clip (values in [-1, 1], clipped) as a 16-bit WAV file, written with the standard ``wave``."""
    import io
    import wave
    arr = make_np(tensor).squeeze()
    if np.abs(arr).max() > 1:
        print("warning: audio amplitude out of range, auto clipped.")
        arr = arr.clip(-1, 1)
    if arr.ndim != 1:
        raise AssertionError("input tensor should be 1 dimensional.")
    arr = (arr * np.iinfo(np.int16).max).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(arr.tobytes())
    clip = Summary.Audio(sample_rate=sample_rate, num_channels=1, length_frames=arr.shape[-1],
                         encoded_audio_string=buf.getvalue(), content_type="audio/wav")
    return Summary(value=[Summary.Value(tag=tag, audio=clip)])


def text(tag, text_string):
    """A string for the text plugin (its tag gets ``/text_summary`` appended, as in torch)."""
    return _tbx.text(tag, text_string)


def tensor_proto(tag, tensor):
    """A whole tensor, stored as a ``TensorProto`` (``add_tensor``)."""
    arr = make_np(tensor)
    dtype = {np.dtype(np.float32): ("DT_FLOAT", "float_val"), np.dtype(np.float64): ("DT_DOUBLE", "double_val"),
             np.dtype(np.int32): ("DT_INT32", "int_val"), np.dtype(np.int64): ("DT_INT64", "int64_val"),
             np.dtype(np.bool_): ("DT_BOOL", "bool_val")}.get(arr.dtype)
    if dtype is None:
        raise TypeError(f"add_tensor: unsupported dtype {arr.dtype}")
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
    shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=int(d)) for d in arr.shape])
    proto = TensorProto(dtype=dtype[0], tensor_shape=shape, **{dtype[1]: arr.reshape(-1).tolist()})
    smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="tensor"))
    return Summary(value=[Summary.Value(tag=tag, tensor=proto, metadata=smd)])


def hparams(hparam_dict, metric_dict, hparam_domain_discrete=None):
    """The three summaries the hparams plugin reads: the experiment (names of hparams and metrics), the
    session start (this run's values) and the session end. Numbers (bools count as numbers, as in torch),
    strings and one-element tensors are accepted."""
    from google.protobuf import struct_pb2
    from tensorboardX.proto.api_pb2 import DataType, Experiment, HParamInfo, MetricInfo, MetricName, Status
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData, SessionEndInfo, SessionStartInfo
    from ... import Tensor
    if not isinstance(hparam_dict, dict):
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    domains = hparam_domain_discrete or {}
    if not isinstance(domains, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing logged.")
    for k, v in domains.items():
        if k not in hparam_dict or not isinstance(v, list) or not all(isinstance(d, type(hparam_dict[k])) for d in v):
            raise TypeError(f"parameter: hparam_domain_discrete[{k}] should be a list of same type as "
                            f"hparam_dict[{k}].")

    def domain(k, field):
        if k not in domains:
            return None
        return struct_pb2.ListValue(values=[struct_pb2.Value(**{field: d}) for d in domains[k]])

    hps, ssi = [], SessionStartInfo()
    for k, v in hparam_dict.items():
        if v is None:
            continue
        if isinstance(v, Tensor):
            v = float(make_np(v).reshape(-1)[0])
        if isinstance(v, (int, float)):
            ssi.hparams[k].number_value = v
            hps.append(HParamInfo(name=k, type=DataType.Value("DATA_TYPE_FLOAT64"),
                                  domain_discrete=domain(k, "number_value")))
        elif isinstance(v, str):
            ssi.hparams[k].string_value = v
            hps.append(HParamInfo(name=k, type=DataType.Value("DATA_TYPE_STRING"),
                                  domain_discrete=domain(k, "string_value")))
        else:
            raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")

    def wrap(tag, **content):
        data = HParamsPluginData(version=0, **content).SerializeToString()
        smd = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="hparams", content=data))
        return Summary(value=[Summary.Value(tag=tag, metadata=smd)])

    exp = Experiment(hparam_infos=hps, metric_infos=[MetricInfo(name=MetricName(tag=k)) for k in metric_dict])
    return (wrap("_hparams_/experiment", experiment=exp),
            wrap("_hparams_/session_start_info", session_start_info=ssi),
            wrap("_hparams_/session_end_info", session_end_info=SessionEndInfo(status=Status.Value("STATUS_SUCCESS"))))

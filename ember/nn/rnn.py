"""Recurrent layers: RNN, LSTM, GRU and their single-step cells.

A recurrent layer reads a sequence one step at a time and carries a hidden state h_t:
    RNN:  h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    LSTM: i, f, g, o = split(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
          c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g);   h_t = sigmoid(o) * tanh(c_t)
    GRU:  r, z = sigmoid(split(W_i x_t + b_i + W_h h_{t-1} + b_h)[:2])
          n = tanh(W_in x_t + b_in + r * (W_hn h_{t-1} + b_hn));  h_t = (1 - z) * n + z * h_{t-1}
The input projection W_ih x_t does not depend on h, so it is done for all steps in one matmul; only
the (small) recurrent part loops over time.  Gradients flow through the ordinary Tensor ops
(backpropagation through time is just autograd on the unrolled loop).
Parameter names and initialisation U(-1/sqrt(hidden), 1/sqrt(hidden)) are torch's.
"""
import math
import numbers
import warnings

import ember
from .module import Module
from .parameter import Parameter
from . import init
from . import functional as F

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


# ----------------------------------------------------------------------------- one step of each cell
def _rnn_step(xw, h, w_hh_t, act):
    return act(ember.addmm(xw, h, w_hh_t))          # xw + h W_hh^T in one node


def _lstm_step(xw, state, w_hh_t, w_hr):
    h, c = state
    i, f, g, o = ember.addmm(xw, h, w_hh_t).chunk(4, dim=-1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, c


def _gru_step(xw, h, w_hh, b_hh):
    xr, xz, xn = xw.chunk(3, dim=-1)
    hr, hz, hn = F.linear(h, w_hh, b_hh).chunk(3, dim=-1)
    r = (xr + hr).sigmoid()
    z = (xz + hz).sigmoid()
    n = (xn + r * hn).tanh()
    return (1 - z) * n + z * h


class RNNBase(Module):
    """Shared machinery: parameters weight_ih_l{k}[_reverse] ..., the layer/direction loops."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=2)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        gates = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
        if mode not in gates:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = gates[mode] * hidden_size
        D = 2 if bidirectional else 1
        kw = {"device": device, "dtype": dtype}
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(D):
                real_hidden = proj_size if proj_size > 0 else hidden_size
                in_size = input_size if layer == 0 else real_hidden * D
                params = [ember.empty((gate_size, in_size), **kw), ember.empty((gate_size, real_hidden), **kw)]
                names = ["weight_ih_l{}{}", "weight_hh_l{}{}"]
                if bias:
                    params += [ember.empty(gate_size, **kw), ember.empty(gate_size, **kw)]
                    names += ["bias_ih_l{}{}", "bias_hh_l{}{}"]
                if proj_size > 0:
                    params.append(ember.empty((proj_size, hidden_size), **kw))
                    names.append("weight_hr_l{}{}")
                suffix = "_reverse" if direction == 1 else ""
                names = [n.format(layer, suffix) for n in names]
                for n, p in zip(names, params):
                    setattr(self, n, Parameter(p))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self):
        """A no-op kept for torch compatibility (cuDNN weight packing)."""

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # --- forward ------------------------------------------------------------------------------
    def _layer_params(self, layer, direction):
        suffix = "_reverse" if direction == 1 else ""
        get = lambda n: getattr(self, f"{n}_l{layer}{suffix}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")

    def _scan(self, xs, bs, state, layer, direction):
        """One direction of one layer over per-step inputs ``xs[t]`` of ``bs[t]`` rows.

        ``bs`` is non-increasing (a packed batch: sequences sorted longest first, ``bs[t]`` of them still
        running at step t).  Forward in time, the rows that have ended are set aside with their final
        state; backward in time, each sequence joins with its initial state at its own last step.
        Returns the per-step outputs and the final state (a tuple: (h,) or (h, c)).
        """
        w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_params(layer, direction)
        # GRU: b_hh sits inside r * (W_hn h + b_hn), so it stays per step; the others fold both biases
        b_in = b_ih if (self.mode == "GRU" or b_ih is None) else b_ih + b_hh
        w_hh_t = w_hh.t()
        act = (lambda v: v.tanh()) if self.mode == "RNN_TANH" else (lambda v: v.relu())

        if self.mode in ("LSTM", "GRU") and w_hr is None and bs.count(bs[0]) == len(bs) and len(xs) > 1:
            return self._fused_scan(xs, state, w_ih, w_hh, b_in, b_hh, direction)

        def cell(x, st):
            xw = F.linear(x, w_ih, b_in)
            if self.mode == "LSTM":
                return _lstm_step(xw, st, w_hh_t, w_hr)
            if self.mode == "GRU":
                return (_gru_step(xw, st[0], w_hh, b_hh),)
            return (_rnn_step(xw, st[0], w_hh_t, act),)

        T = len(xs)
        ys = [None] * T
        if direction == 0:
            active, done = state, []
            for t in range(T):
                if bs[t] < active[0].shape[0]:          # some sequences ended: keep their final state
                    done.append(tuple(a[bs[t]:] for a in active))
                    active = tuple(a[:bs[t]] for a in active)
                active = cell(xs[t], active)
                ys[t] = active[0]
            if done:
                active = tuple(ember.cat([a] + [d[i] for d in reversed(done)], 0) for i, a in enumerate(active))
            return ys, active
        active = None
        for t in range(T - 1, -1, -1):
            n = 0 if active is None else active[0].shape[0]
            if bs[t] > n:                                 # sequences whose last step is t start here
                fresh = tuple(s[n:bs[t]] if (n, bs[t]) != (0, s.shape[0]) else s for s in state)
                active = fresh if active is None else tuple(ember.cat([a, f], 0) for a, f in zip(active, fresh))
            active = cell(xs[t], active)
            ys[t] = active[0]
        return ys, active

    def _fused_scan(self, xs, state, w_ih, w_hh, b_in, b_hh, direction):
        """A whole LSTM/GRU sequence as one Function (ember/ops/rnn.py): the input projection of every step
        in one matmul, the recurrence as array code. Used when every sequence has the same length."""
        from ..ops.rnn import GRUSequence, LSTMSequence
        xw = F.linear(ember.stack(xs, 0), w_ih, b_in)                 # (T, N, gates * H)
        if self.mode == "LSTM":
            ys, h, c = LSTMSequence.apply(xw, state[0], state[1], w_hh, direction == 1)
            return list(ys.unbind(0)), (h, c)
        ys, h = GRUSequence.apply(xw, state[0], w_hh, b_hh, direction == 1)
        return list(ys.unbind(0)), (h,)

    def _run_whole(self, x, hx):
        """The fused path over a whole (T, N, I) sequence (all steps of equal length, LSTM/GRU without
        projections): per layer and direction, one input-projection matmul and one LSTMSequence /
        GRUSequence (ember/ops/rnn.py). The sequence stays one tensor from layer to layer, and dropout
        between layers is drawn for the whole layer output at once, as torch does."""
        from ..ops.rnn import GRUSequence, LSTMSequence
        D = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(D):
                idx = layer * D + direction
                w_ih, w_hh, b_ih, b_hh, _ = self._layer_params(layer, direction)
                xw = F.linear(x, w_ih, b_ih if (not lstm or b_ih is None) else b_ih + b_hh)  # (T, N, gates*H)
                if lstm:
                    ys, h, c = LSTMSequence.apply(xw, hx[0][idx], hx[1][idx], w_hh, direction == 1)
                    finals.append((h, c))
                else:
                    ys, h = GRUSequence.apply(xw, hx[idx], w_hh, b_hh, direction == 1)
                    finals.append((h,))
                outs.append(ys)
            x = outs[0] if D == 1 else ember.cat(outs, dim=-1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, p=self.dropout, training=True)
        h_n = ember.stack([f[0] for f in finals], 0)
        if lstm:
            return x, (h_n, ember.stack([f[1] for f in finals], 0))
        return x, h_n

    def _run(self, xs, bs, hx):
        """All layers and directions over the per-step inputs; returns (per-step outputs, final states).

        The sequence stays a Python list of per-step tensors from layer to layer (stacked once by the
        caller), so the backward never scatters a step's gradient into a full-sequence buffer (O(L^2)).
        """
        D = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(D):
                idx = layer * D + direction
                state = (hx[0][idx], hx[1][idx]) if lstm else (hx[idx],)
                ys, final = self._scan(xs, bs, state, layer, direction)
                outs.append(ys)
                finals.append(final)
            xs = outs[0] if D == 1 else [ember.cat([f, b], dim=-1) for f, b in zip(*outs)]
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                xs = [F.dropout(v, p=self.dropout, training=True) for v in xs]
        h_n = ember.stack([f[0] for f in finals], 0)
        if lstm:
            return xs, (h_n, ember.stack([f[1] for f in finals], 0))
        return xs, h_n

    def _check_hidden(self, hx, batch, size, unbatched, msg="Expected hidden size {}, got {}"):
        if unbatched:
            if hx.dim() != 2:
                raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got {hx.dim()}-D tensor")
            hx = hx.unsqueeze(1)
        elif hx.dim() != 3:
            raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor")
        D = 2 if self.bidirectional else 1
        expected = (self.num_layers * D, batch, size)
        if tuple(hx.shape) != expected:
            raise RuntimeError(msg.format(expected, list(hx.shape)))
        return hx

    def forward(self, input, hx=None):
        """input: (L, N, H_in) ((N, L, H_in) with batch_first), unbatched (L, H_in), or a PackedSequence.
        hx: (h_0, c_0) for LSTM, else h_0, each (num_layers * num_directions, N, H).
        Returns (output, h_n) — (output, (h_n, c_n)) for LSTM — with output packed like the input."""
        from .utils.rnn import PackedSequence
        lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        D = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            if data.dim() != 2:
                raise RuntimeError(f"input must have 2 dimensions, got {data.dim()}")
            self._check_dtype_and_size(data)
            bs = [int(b) for b in batch_sizes.tolist()]
            xs = list(data.split(bs, 0))
            batch, unbatched, dtype, dev, whole = bs[0], False, data.dtype, data.device, False
        else:
            name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(self.mode, self.mode)
            if input.dim() not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D"
                                 + (" tensor instead" if name == "RNN" else " instead"))
            self._check_dtype_and_size(input)
            unbatched = input.dim() == 2
            x = input.unsqueeze(0 if self.batch_first else 1) if unbatched else input
            if self.batch_first:
                x = x.transpose(0, 1)
            batch, dtype, dev = x.shape[1], x.dtype, x.device
            whole = self.mode in ("LSTM", "GRU") and self.proj_size == 0 and x.shape[0] > 1
            xs = None if whole else list(x.unbind(0))
            bs = None if whole else [batch] * len(xs)
            sorted_indices = unsorted_indices = None

        def zeros(size):
            return ember.zeros((self.num_layers * D, batch, size), dtype=dtype, device=dev)

        def prep(h, size, msg):
            h = self._check_hidden(h, batch, size, unbatched, msg)
            return h if sorted_indices is None else h.index_select(1, sorted_indices)

        if lstm:
            if hx is None:
                hx = (zeros(real_hidden), zeros(self.hidden_size))
            else:
                hx = (prep(hx[0], real_hidden, "Expected hidden[0] size {}, got {}"),
                      prep(hx[1], self.hidden_size, "Expected hidden[1] size {}, got {}"))
        else:
            hx = zeros(self.hidden_size) if hx is None else prep(hx, self.hidden_size, "Expected hidden size {}, got {}")

        if whole:
            out, h_n = self._run_whole(x, hx)
        else:
            ys, h_n = self._run(xs, bs, hx)
            out = ember.cat(ys, 0) if packed else ember.stack(ys, 0)
        states = h_n if lstm else (h_n,)
        if unsorted_indices is not None:
            states = tuple(h.index_select(1, unsorted_indices) for h in states)
        if unbatched:
            states = tuple(h.squeeze(1) for h in states)
        h_n = states if lstm else states[0]
        if packed:
            return PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices), h_n
        if self.batch_first:
            out = out.transpose(0, 1)
        if unbatched:
            out = out.squeeze(0 if self.batch_first else 1)
        return out, h_n

    def _check_dtype_and_size(self, x):
        w = self._flat_weights[0]
        if x.dtype != w.dtype:
            raise ValueError(f"RNN input dtype ({x.dtype}) does not match weight dtype ({w.dtype}). "
                             f"Convert input: input.to({w.dtype}), or convert model: model.to({x.dtype})")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {x.shape[-1]}")


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self_nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self_nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self_nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self_nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self_nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)
        self.nonlinearity = self_nonlinearity


class LSTM(RNNBase):
    """Long short-term memory: gated cell state c_t carries information across many steps.

    forward(input, (h_0, c_0)) -> output, (h_n, c_n).
    """

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit: reset gate r, update gate z, candidate n; h_t = (1 - z) * n + z * h_{t-1}."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ----------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = Parameter(ember.empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(ember.empty((num_chunks * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(ember.empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(ember.empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _batch(self, input, hx, name):
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            hx = ember.zeros((input.shape[0], self.hidden_size), dtype=input.dtype, device=input.device)
        elif not batched:
            hx = hx.unsqueeze(0)
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} expected "
                               f"{self.input_size}")
        return input, hx, batched


class RNNCell(RNNCellBase):
    """One Elman step: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, h, batched = self._batch(input, hx, "RNNCell")
        if self.nonlinearity == "tanh":
            act = lambda v: v.tanh()  # noqa: E731
        elif self.nonlinearity == "relu":
            act = lambda v: v.relu()  # noqa: E731
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        h = act(F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh))
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: (h, c) -> (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        if input.dim() not in (1, 2):
            raise ValueError(f"LSTMCell: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None:
            for idx, value in enumerate(hx):
                if value.dim() not in (1, 2):
                    raise ValueError(f"LSTMCell: Expected hx[{idx}] to be 1D or 2D, got {value.dim()}D instead")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            z = ember.zeros((x.shape[0], self.hidden_size), dtype=x.dtype, device=x.device)
            hx = (z, z)
        elif not batched:
            hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        xw = F.linear(x, self.weight_ih, self.bias_ih)
        if self.bias_hh is not None:
            xw = xw + self.bias_hh
        h, c = _lstm_step(xw, hx, self.weight_hh.t(), None)
        if not batched:
            h, c = h.squeeze(0), c.squeeze(0)
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step: h -> h'."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x, h, batched = self._batch(input, hx, "GRUCell")
        h = _gru_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh, self.bias_hh)
        return h if batched else h.squeeze(0)

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
    return act(xw + h.matmul(w_hh_t))


def _lstm_step(xw, state, w_hh_t, w_hr):
    h, c = state
    i, f, g, o = (xw + h.matmul(w_hh_t)).chunk(4, dim=-1)
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
    def _check_input(self, input):
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(self.mode, self.mode)
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D"
                             + (" tensor instead" if name == "RNN" else " instead"))
        w = self._flat_weights[0]
        if input.dtype != w.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({w.dtype}). "
                             f"Convert input: input.to({w.dtype}), or convert model: model.to({input.dtype})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.shape[-1]}")

    def _layer_params(self, layer, direction):
        suffix = "_reverse" if direction == 1 else ""
        get = lambda n: getattr(self, f"{n}_l{layer}{suffix}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")

    def _run(self, input, hx, unbatched):
        """Run all layers/directions on (L, N, In) input (time-major); returns (output, final states).

        The sequence is kept as a Python list of per-step (N, features) tensors from layer to layer and
        stacked once at the end, so the backward never scatters a step's gradient into a full-sequence
        buffer (which would cost O(L^2)).
        """
        D = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        xs = list(input.unbind(0))
        finals_h, finals_c = [], []
        act = (lambda v: v.tanh()) if self.mode == "RNN_TANH" else (lambda v: v.relu())
        for layer in range(self.num_layers):
            outs = []
            for direction in range(D):
                w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_params(layer, direction)
                idx = layer * D + direction
                # GRU: b_hh sits inside r * (W_hn h + b_hn), so it stays per step; the others fold both biases
                b_in = b_ih if (self.mode == "GRU" or b_ih is None) else b_ih + b_hh
                w_ih_t, w_hh_t = w_ih.t(), w_hh.t()
                steps = range(len(xs) - 1, -1, -1) if direction == 1 else range(len(xs))
                state = (hx[0][idx], hx[1][idx]) if lstm else hx[idx]
                ys = [None] * len(xs)
                for t in steps:
                    xw = xs[t].matmul(w_ih_t)
                    if b_in is not None:
                        xw = xw + b_in
                    if lstm:
                        state = _lstm_step(xw, state, w_hh_t, w_hr)
                        ys[t] = state[0]
                    elif self.mode == "GRU":
                        state = _gru_step(xw, state, w_hh, b_hh)
                        ys[t] = state
                    else:
                        state = _rnn_step(xw, state, w_hh_t, act)
                        ys[t] = state
                outs.append(ys)
                if lstm:
                    finals_h.append(state[0])
                    finals_c.append(state[1])
                else:
                    finals_h.append(state)
            xs = outs[0] if D == 1 else [ember.cat([f, b], dim=-1) for f, b in zip(*outs)]
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                xs = [F.dropout(v, p=self.dropout, training=True) for v in xs]
        x = ember.stack(xs, 0)
        h_n = ember.stack(finals_h, 0)
        if lstm:
            return x, (h_n, ember.stack(finals_c, 0))
        return x, h_n

    def _prepare(self, input, hx):
        self._check_input(input)
        unbatched = input.dim() == 2
        batch_dim = 0 if self.batch_first else 1
        if unbatched:
            input = input.unsqueeze(batch_dim)
        if self.batch_first:
            input = input.transpose(0, 1)
        return input, unbatched

    def _zeros_state(self, input, size):
        D = 2 if self.bidirectional else 1
        return ember.zeros((self.num_layers * D, input.shape[1], size), dtype=input.dtype, device=input.device)

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

    def _finish(self, output, unbatched):
        if self.batch_first:
            output = output.transpose(0, 1)
        if unbatched:
            output = output.squeeze(0 if self.batch_first else 1)
        return output

    def forward(self, input, hx=None):
        x, unbatched = self._prepare(input, hx)
        hx = self._zeros_state(x, self.hidden_size) if hx is None else \
            self._check_hidden(hx, x.shape[1], self.hidden_size, unbatched)
        out, h_n = self._run(x, hx, unbatched)
        if unbatched:
            h_n = h_n.squeeze(1)
        return self._finish(out, unbatched), h_n


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

    def forward(self, input, hx=None):
        x, unbatched = self._prepare(input, hx)
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        if hx is None:
            hx = (self._zeros_state(x, real_hidden), self._zeros_state(x, self.hidden_size))
        else:
            h0, c0 = hx
            hx = (self._check_hidden(h0, x.shape[1], real_hidden, unbatched, "Expected hidden[0] size {}, got {}"),
                  self._check_hidden(c0, x.shape[1], self.hidden_size, unbatched,
                                     "Expected hidden[1] size {}, got {}"))
        out, (h_n, c_n) = self._run(x, hx, unbatched)
        if unbatched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._finish(out, unbatched), (h_n, c_n)


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

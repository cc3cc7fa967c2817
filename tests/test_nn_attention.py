"""scaled_dot_product_attention, MultiheadAttention and the Transformer layers vs PyTorch;
gradchecks of the fused attention Function; lesson 003's TransformerBlock parameter counts."""
import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.autograd import gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def rand(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def pair(a, requires_grad=True):
    return ember.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad)


def close(e, t, rel=1e-5):
    a = e.detach().numpy()
    b = t.detach().numpy()
    assert a.shape == b.shape, (a.shape, b.shape)
    if b.size == 0:
        return
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    a, b = np.nan_to_num(a), np.nan_to_num(b)
    scale = max(float(np.abs(b).max()), 1e-3)
    err = float(np.abs(a.astype(np.float64) - b).max())
    assert err <= rel * scale, f"max abs err {err} > {rel} * {scale}"


def copy_params(emod, tmod):
    en, tn = dict(emod.named_parameters()), dict(tmod.named_parameters())
    assert list(en) == list(tn)
    for k, p in en.items():
        p._data[...] = tn[k].detach().numpy()
        p._bump()


def grads_match(emod, tmod, rel=1e-5):
    tn = dict(tmod.named_parameters())
    for n, p in emod.named_parameters():
        if tn[n].grad is None:
            assert p.grad is None or not np.any(p.grad.numpy()), n
        else:
            close(p.grad, tn[n].grad, rel)


def backward_both(ye, yt, seed=99):
    g = rand(*yt.shape, seed=seed)
    (ye * ember.tensor(g)).sum().backward()
    (yt * torch.tensor(g)).sum().backward()


# ----------------------------------------------------------------------------- sdpa
def sdpa_case(mask=None, **kw):
    q, k, v = rand(2, 3, 5, 4, seed=1), rand(2, 3, 6, 4, seed=2), rand(2, 3, 6, 7, seed=3)
    (qe, qt), (ke, kt), (ve, vt) = pair(q), pair(k), pair(v)
    me = mt = None
    if mask is not None:
        grad = mask.dtype != np.bool_
        me, mt = pair(mask, requires_grad=grad)
    ye = F.scaled_dot_product_attention(qe, ke, ve, attn_mask=me, **kw)
    yt = TF.scaled_dot_product_attention(qt, kt, vt, attn_mask=mt, **kw)
    close(ye, yt)
    backward_both(ye, yt)
    for a, b in [(qe, qt), (ke, kt), (ve, vt)]:
        close(a.grad, b.grad)
    if me is not None and mt.requires_grad:
        close(me.grad, mt.grad)
    return ye


def test_sdpa_plain_and_scale():
    y = sdpa_case()
    assert y.grad_fn.name() == "ScaledDotProductFlashAttentionForCpuBackward0"
    sdpa_case(scale=0.3)


def test_sdpa_causal():
    q = rand(2, 4, 8)
    (qe, qt) = pair(q)
    ye = F.scaled_dot_product_attention(qe, qe, qe, is_causal=True)
    yt = TF.scaled_dot_product_attention(qt, qt, qt, is_causal=True)
    close(ye, yt)
    backward_both(ye, yt)
    close(qe.grad, qt.grad)
    sdpa_case(is_causal=True)      # L=5 < S=6: top-left aligned like torch


def test_sdpa_bool_and_float_masks():
    rng = np.random.default_rng(4)
    bool_mask = rng.random((5, 6)) > 0.3
    bool_mask[:, 0] = True
    sdpa_case(bool_mask)
    sdpa_case(rng.random((2, 1, 5, 6)) > 0.5)                  # broadcast over heads, some rows fully masked
    sdpa_case(rand(2, 3, 5, 6, seed=5))                        # float mask gets a gradient
    sdpa_case(rand(5, 6, seed=6))


def test_sdpa_fully_masked_rows_are_zero():
    m = np.ones((5, 6), bool)
    m[2] = False
    y = sdpa_case(m)
    assert not np.any(y.detach().numpy()[:, :, 2])


def test_sdpa_gqa():
    q, k, v = rand(2, 4, 5, 3), rand(2, 2, 6, 3, seed=1), rand(2, 2, 6, 3, seed=2)
    (qe, qt), (ke, kt), (ve, vt) = pair(q), pair(k), pair(v)
    ye = F.scaled_dot_product_attention(qe, ke, ve, enable_gqa=True)
    yt = TF.scaled_dot_product_attention(qt, kt, vt, enable_gqa=True)
    close(ye, yt)
    backward_both(ye, yt)
    for a, b in [(qe, qt), (ke, kt), (ve, vt)]:
        close(a.grad, b.grad)


def test_sdpa_dropout_statistics_and_consistent_grad():
    ember.manual_seed(0)
    q = ember.tensor(rand(1, 1, 64, 8) * 0, requires_grad=True)       # uniform attention
    v = ember.ones(1, 1, 64, 8, requires_grad=True)
    y = F.scaled_dot_product_attention(q, q, v, dropout_p=0.5)
    mean = float(y.mean())
    assert 0.85 < mean < 1.15                                           # inverted dropout keeps the expectation
    assert not np.allclose(y.detach().numpy(), 1.0)
    y.sum().backward()
    # d(sum y)/dv[j] = sum_i D[i, j]; over all j it must equal the output mass
    np.testing.assert_allclose(float(v.grad.sum()) / 8, float(y.sum()) / 8, rtol=1e-5)


def test_sdpa_errors():
    q = ember.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=ember.ones(3, 3, dtype=ember.bool), is_causal=True)


def test_gradcheck_attention():
    q = ember.tensor(rand(2, 3, 4, dtype=np.float64), requires_grad=True)
    k = ember.tensor(rand(2, 5, 4, seed=1, dtype=np.float64), requires_grad=True)
    v = ember.tensor(rand(2, 5, 3, seed=2, dtype=np.float64), requires_grad=True)
    m = ember.tensor(rand(3, 5, seed=3, dtype=np.float64), requires_grad=True)
    assert gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), (q, k, v, m))
    bm = ember.tensor(np.random.default_rng(0).random((3, 5)) > 0.4)
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=bm, scale=0.7), (q, k, v))
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v))


# ----------------------------------------------------------------------------- MultiheadAttention
def make_mha(*args, **kw):
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(*args, **kw)
    e = nn.MultiheadAttention(*args, **kw)
    copy_params(e, t)
    return e, t


def mha_case(e, t, q, k=None, v=None, **kw):
    (qe, qt) = pair(q)
    if k is None:
        ke, kt, ve, vt = qe, qt, qe, qt
    else:
        (ke, kt), (ve, vt) = pair(k), pair(v)
    kw_e = {n: (ember.tensor(a) if isinstance(a, np.ndarray) else a) for n, a in kw.items()}
    kw_t = {n: (torch.tensor(a) if isinstance(a, np.ndarray) else a) for n, a in kw.items()}
    oe, we = e(qe, ke, ve, **kw_e)
    ot, wt = t(qt, kt, vt, **kw_t)
    close(oe, ot)
    if wt is None:
        assert we is None
        backward_both(oe, ot)
    else:
        close(we, wt)
        g1, g2 = rand(*ot.shape, seed=5), rand(*wt.shape, seed=6)
        ((oe * ember.tensor(g1)).sum() + (we * ember.tensor(g2)).sum()).backward()
        ((ot * torch.tensor(g1)).sum() + (wt * torch.tensor(g2)).sum()).backward()
    close(qe.grad, qt.grad)
    if k is not None:
        close(ke.grad, kt.grad)
        close(ve.grad, vt.grad)
    grads_match(e, t)


def test_mha_structure_and_repr():
    e, t = make_mha(16, 4)
    assert repr(e) == repr(t)
    assert [n for n, _ in e.named_parameters()] == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                                   "out_proj.bias"]
    assert type(e.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    e2 = nn.MultiheadAttention(16, 4, kdim=8, vdim=12, add_bias_kv=True, bias=False)
    t2 = torch.nn.MultiheadAttention(16, 4, kdim=8, vdim=12, add_bias_kv=True, bias=False)
    assert [(n, tuple(p.shape)) for n, p in e2.named_parameters()] == \
           [(n, tuple(p.shape)) for n, p in t2.named_parameters()]
    ember.manual_seed(0)
    e3 = nn.MultiheadAttention(32, 4)
    assert not np.any(e3.in_proj_bias.detach().numpy()) and not np.any(e3.out_proj.bias.detach().numpy())
    bound = np.sqrt(6 / (32 + 96))
    w = e3.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound


@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_self_attention(need_weights, average, batch_first):
    e, t = make_mha(8, 2, batch_first=batch_first)
    mha_case(e, t, rand(5, 3, 8), need_weights=need_weights, average_attn_weights=average)


def test_mha_cross_attention_kdim_vdim():
    e, t = make_mha(8, 2, kdim=6, vdim=4, batch_first=True)
    mha_case(e, t, rand(3, 5, 8), rand(3, 7, 6, seed=1), rand(3, 7, 4, seed=2))
    mha_case(e, t, rand(3, 5, 8), rand(3, 7, 6, seed=1), rand(3, 7, 4, seed=2), need_weights=False)


def test_mha_distinct_key_value_same_dims():
    e, t = make_mha(8, 4)
    mha_case(e, t, rand(5, 2, 8), rand(6, 2, 8, seed=1), rand(6, 2, 8, seed=2))


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_masks(need_weights):
    rng = np.random.default_rng(3)
    e, t = make_mha(8, 2, batch_first=True)
    x = rand(2, 5, 8)
    bool_attn = rng.random((5, 5)) > 0.6
    np.fill_diagonal(bool_attn, False)
    kpm = np.zeros((2, 5), bool)
    kpm[0, 3:] = True
    float_attn = rand(5, 5, seed=4)
    attn3d = rand(4, 5, 5, seed=5)
    causal = np.triu(np.full((5, 5), -np.inf, np.float32), 1)
    for kw in [dict(attn_mask=bool_attn), dict(key_padding_mask=kpm), dict(attn_mask=float_attn),
               dict(attn_mask=bool_attn, key_padding_mask=kpm), dict(attn_mask=attn3d),
               dict(attn_mask=float_attn, key_padding_mask=np.where(kpm, -1e9, 0).astype(np.float32)),
               dict(attn_mask=causal, is_causal=True)]:
        if "is_causal" in kw:
            continue
        mha_case(e, t, x, need_weights=need_weights, **kw)
    mha_case(e, t, x, attn_mask=causal, need_weights=need_weights)


def test_mha_unbatched_bias_kv_zero_attn():
    e, t = make_mha(8, 2, add_bias_kv=True, add_zero_attn=True)
    mha_case(e, t, rand(5, 2, 8))
    mha_case(e, t, rand(5, 2, 8), need_weights=False)
    e2, t2 = make_mha(8, 2)
    mha_case(e2, t2, rand(5, 8))
    mha_case(e2, t2, rand(5, 8), key_padding_mask=np.array([False, False, True, False, True]))


def test_mha_dropout_only_in_training():
    e, t = make_mha(8, 2, dropout=0.5)
    e.eval()
    t.eval()
    mha_case(e, t, rand(4, 2, 8))
    e.train()
    x = ember.tensor(rand(4, 2, 8))
    a, _ = e(x, x, x)
    b, _ = e(x, x, x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())


# ----------------------------------------------------------------------------- Transformer layers
def make_pair(cls_name, *args, **kw):
    torch.manual_seed(0)
    t = getattr(torch.nn, cls_name)(*args, **kw)
    e = getattr(nn, cls_name)(*args, **kw)
    copy_params(e, t)
    return e, t


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_encoder_layer_matches_torch(norm_first, mode):
    e, t = make_pair("TransformerEncoderLayer", 8, 2, 16, dropout=0.0 if mode == "train" else 0.1,
                     batch_first=True, norm_first=norm_first)
    if mode == "eval":
        e.eval()
        t.eval()
    assert repr(e) == repr(t)
    x = rand(3, 5, 8)
    kpm = np.zeros((3, 5), bool)
    kpm[1, 4:] = True
    for kw in [dict(), dict(src_key_padding_mask=kpm), dict(src_mask=np.triu(np.ones((5, 5), bool), 1))]:
        xe, xt = pair(x)
        ye = e(xe, **{k: ember.tensor(v) for k, v in kw.items()})
        yt = t(xt, **{k: torch.tensor(v) for k, v in kw.items()})
        close(ye, yt)
        backward_both(ye, yt)
        close(xe.grad, xt.grad)
        grads_match(e, t)
        e.zero_grad()
        t.zero_grad()


@pytest.mark.parametrize("activation", ["gelu", "relu_module", "callable"])
def test_encoder_layer_activations_seq_first(activation):
    act = {"gelu": "gelu", "relu_module": None, "callable": None}[activation]
    torch.manual_seed(0)
    if activation == "relu_module":
        t = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=torch.nn.ReLU())
        e = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=nn.ReLU())
    elif activation == "callable":
        t = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=lambda v: TF.gelu(v) * 2)
        e = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=lambda v: F.gelu(v) * 2)
    else:
        t = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=act, layer_norm_eps=1e-6)
        e = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=act, layer_norm_eps=1e-6)
    copy_params(e, t)
    assert repr(e) == repr(t)
    xe, xt = pair(rand(5, 3, 8))
    ye, yt = e(xe), t(xt)
    close(ye, yt)
    backward_both(ye, yt)
    close(xe.grad, xt.grad)
    grads_match(e, t)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_decoder_layer_matches_torch(norm_first, mode):
    e, t = make_pair("TransformerDecoderLayer", 8, 2, 16, dropout=0.0 if mode == "train" else 0.1,
                     batch_first=True, norm_first=norm_first)
    if mode == "eval":
        e.eval()
        t.eval()
    assert repr(e) == repr(t)
    tgt, mem = rand(2, 4, 8), rand(2, 6, 8, seed=1)
    causal = np.triu(np.full((4, 4), -np.inf, np.float32), 1)
    mkpm = np.zeros((2, 6), bool)
    mkpm[0, 5:] = True
    (te, tt), (me, mt) = pair(tgt), pair(mem)
    ye = e(te, me, tgt_mask=ember.tensor(causal), memory_key_padding_mask=ember.tensor(mkpm))
    yt = t(tt, mt, tgt_mask=torch.tensor(causal), memory_key_padding_mask=torch.tensor(mkpm))
    close(ye, yt)
    backward_both(ye, yt)
    close(te.grad, tt.grad)
    close(me.grad, mt.grad)
    grads_match(e, t)


def test_encoder_and_decoder_stacks():
    torch.manual_seed(0)
    tl = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    el = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    t = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
    e = nn.TransformerEncoder(el, 2, norm=nn.LayerNorm(8), enable_nested_tensor=False)
    copy_params(e, t)
    assert repr(e) == repr(t)
    assert e.layers[0] is not e.layers[1] and e.layers[0].linear1.weight is not e.layers[1].linear1.weight
    xe, xt = pair(rand(2, 5, 8))
    causal = np.triu(np.full((5, 5), -np.inf, np.float32), 1)
    ye, yt = e(xe, mask=ember.tensor(causal)), t(xt, mask=torch.tensor(causal))
    close(ye, yt)
    backward_both(ye, yt)
    close(xe.grad, xt.grad)
    grads_match(e, t)

    td = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0), 2)
    ed = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0), 2)
    copy_params(ed, td)
    tg, mem = rand(4, 2, 8), rand(5, 2, 8, seed=1)
    close(ed(ember.tensor(tg), ember.tensor(mem)), td(torch.tensor(tg), torch.tensor(mem)))


def test_encoder_inference_fast_path_zeroes_padding():
    torch.manual_seed(0)
    t = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2)
    e = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2)
    copy_params(e, t)
    e.eval()
    t.eval()
    x = rand(2, 5, 8)
    kpm = np.zeros((2, 5), bool)
    kpm[0, 3:] = True
    with torch.no_grad(), ember.no_grad():
        close(e(ember.tensor(x), src_key_padding_mask=ember.tensor(kpm)),
              t(torch.tensor(x), src_key_padding_mask=torch.tensor(kpm)))


def test_full_transformer_matches_torch():
    e, t = make_pair("Transformer", d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                     dim_feedforward=16, dropout=0.0)
    assert repr(e) == repr(t)
    src, tgt = rand(6, 2, 8), rand(4, 2, 8, seed=1)
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(mask.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())
    (se, st), (te, tt) = pair(src), pair(tgt)
    ye = e(se, te, tgt_mask=mask)
    yt = t(st, tt, tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(4))
    close(ye, yt)
    backward_both(ye, yt)
    close(se.grad, st.grad)
    grads_match(e, t)


# ----------------------------------------------------------------------------- lesson 003
class TransformerBlock(nn.Module):
    def __init__(self, d_model=512, n_head=8, d_ff=2048, drop=0.1):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_head, dropout=drop, batch_first=True)
        self.ln1 = nn.LayerNorm(d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(
            nn.Linear(d_model, d_ff),
            nn.GELU(),
            nn.Dropout(drop),
            nn.Linear(d_ff, d_model),
            nn.Dropout(drop),
        )

    def forward(self, x, attn_mask=None):
        # Pre-LN style — modern Transformer convention
        h = self.ln1(x)
        h, _ = self.attn(h, h, h, attn_mask=attn_mask, need_weights=False)
        x = x + h               # residual connection

        h = self.ln2(x)
        h = self.ff(h)
        x = x + h               # residual connection
        return x


def test_lesson_003_transformer_block_parameter_counts():
    block = TransformerBlock()
    assert sum(p.numel() for p in block.parameters()) == 3_152_384
    x = ember.randn(2, 16, 512)
    assert tuple(block(x).shape) == (2, 16, 512)
    encoder = nn.ModuleList([TransformerBlock() for _ in range(6)])
    assert sum(p.numel() for p in encoder.parameters()) == 18_914_304


def test_lesson_003_block_matches_torch_train_mode_without_dropout():
    class TBlock(torch.nn.Module):
        def __init__(self, d_model, n_head, d_ff):
            super().__init__()
            self.attn = torch.nn.MultiheadAttention(d_model, n_head, dropout=0.0, batch_first=True)
            self.ln1 = torch.nn.LayerNorm(d_model)
            self.ln2 = torch.nn.LayerNorm(d_model)
            self.ff = torch.nn.Sequential(torch.nn.Linear(d_model, d_ff), torch.nn.GELU(), torch.nn.Dropout(0.0),
                                          torch.nn.Linear(d_ff, d_model), torch.nn.Dropout(0.0))

        def forward(self, x, attn_mask=None):
            h = self.ln1(x)
            h, _ = self.attn(h, h, h, attn_mask=attn_mask, need_weights=False)
            x = x + h
            return x + self.ff(self.ln2(x))

    torch.manual_seed(0)
    t = TBlock(32, 4, 64)
    e = TransformerBlock(32, 4, 64, drop=0.0)
    copy_params(e, t)
    xe, xt = pair(rand(2, 7, 32))
    causal = np.triu(np.ones((7, 7), bool), 1)
    ye, yt = e(xe, ember.tensor(causal)), t(xt, torch.tensor(causal))
    close(ye, yt)
    backward_both(ye, yt)
    close(xe.grad, xt.grad)
    grads_match(e, t)


def test_sdpa_double_backward_matches_composed_torch():
    q, k, v = rand(2, 3, 4), rand(2, 5, 4, seed=1), rand(2, 5, 3, seed=2)
    (qe, qt), (ke, kt), (ve, vt) = pair(q), pair(k), pair(v)
    ye = F.scaled_dot_product_attention(qe, ke, ve)
    yt = torch.softmax(qt @ kt.transpose(-2, -1) / 2.0, dim=-1) @ vt      # the math torch's CPU kernel fuses
    close(ye, yt)
    gq_e, = ember.autograd.grad(ye.pow(2).sum(), qe, create_graph=True)
    gq_t, = torch.autograd.grad(yt.pow(2).sum(), qt, create_graph=True)
    close(gq_e, gq_t)
    gq_e.sum().backward()
    gq_t.sum().backward()
    for a, b in [(qe, qt), (ke, kt), (ve, vt)]:
        close(a.grad, b.grad)


# ----------------------------------------------------------------------------- CUDA (CuPy) runs the same code
@pytest.mark.skipif(not ember.cuda.is_available(), reason="needs CuPy and a GPU")
def test_cuda_matches_cpu_for_spatial_and_sequence_layers():
    """Every Function here is written with xp, so on a CuPy array it must give the CPU numbers."""
    cases = [
        (lambda x, w: F.conv2d(x, w, stride=2, padding=1, groups=2), [rand(2, 4, 9, 9), rand(6, 2, 3, 3, seed=1)]),
        (lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
         [rand(2, 3, 5, 5), rand(3, 4, 3, 3, seed=1)]),
        (lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), [rand(2, 3, 9, 8)]),
        (lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), [rand(2, 3, 9, 8)]),
        (lambda x: F.adaptive_avg_pool2d(x, (3, 5)), [rand(2, 3, 9, 8)]),
        (lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), [rand(2, 3, 5, 4)]),
        (lambda x: F.pad(x, (1, 2, 2, 1), mode="reflect"), [rand(2, 3, 5, 4)]),
        (lambda x: F.fold(F.unfold(x, 2, stride=1), (5, 4), 2), [rand(2, 3, 5, 4)]),
        (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
         [rand(2, 2, 5, 4), rand(2, 2, 5, 4, seed=1), rand(2, 2, 5, 3, seed=2)]),
        (lambda x: F.adaptive_max_pool2d(x, (3, 5)), [rand(2, 3, 9, 8)]),      # uses Tensor.max(dim)
    ]
    ember.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    lstm = nn.LSTM(8, 6, bidirectional=True, batch_first=True)
    x = rand(2, 5, 8)
    outs = []
    for dev in ("cpu", "cuda"):
        mha.to(dev)
        lstm.to(dev)
        xe = ember.tensor(x).to(dev).requires_grad_()
        y, w = mha(xe, xe, xe)
        z = lstm(y)[0]
        (z.sum() + w.sum()).backward()
        outs.append([z.detach().cpu().numpy(), xe.grad.cpu().numpy(), mha.in_proj_weight.grad.cpu().numpy()])
        mha.zero_grad()
        lstm.zero_grad()
    for a, b in zip(*outs):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
    for fn, arrays in cases:
        results = []
        for dev in ("cpu", "cuda"):
            ts = [ember.tensor(a).to(dev).requires_grad_() for a in arrays]
            y = fn(*ts)
            assert y.device.type == dev
            (y * y).sum().backward()
            results.append([y.detach().cpu().numpy()] + [t.grad.cpu().numpy() for t in ts])
        for a, b in zip(*results):
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_dtype_mismatch_errors_like_torch():
    q = ember.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match="query.dtype: float key.dtype: double and value.dtype: float instead"):
        F.scaled_dot_product_attention(q, q.double(), q)
    with pytest.raises(ValueError, match=r"RNN input dtype \(torch.float64\) does not match weight dtype"):
        nn.LSTM(3, 4)(ember.randn(2, 1, 3, dtype=ember.float64))


def test_gradgradcheck_attention():
    from ember.autograd import gradgradcheck
    q = ember.tensor(rand(1, 3, 4, dtype=np.float64), requires_grad=True)
    k = ember.tensor(rand(1, 4, 4, seed=1, dtype=np.float64), requires_grad=True)
    v = ember.tensor(rand(1, 4, 2, seed=2, dtype=np.float64), requires_grad=True)
    bm = ember.tensor(np.array([[1, 1, 0, 0], [0, 0, 0, 0], [1, 0, 1, 1]], bool))   # one fully masked row
    assert gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=bm), (q, k, v))
    assert gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v))


def test_sdpa_grads_only_for_inputs_that_need_them():
    q = ember.tensor(rand(2, 3, 4), requires_grad=True)
    k, v = ember.tensor(rand(2, 5, 4, seed=1)), ember.tensor(rand(2, 5, 4, seed=2))
    qt = torch.tensor(rand(2, 3, 4), requires_grad=True)
    F.scaled_dot_product_attention(q, k, v).sum().backward()
    TF.scaled_dot_product_attention(qt, torch.tensor(rand(2, 5, 4, seed=1)),
                                    torch.tensor(rand(2, 5, 4, seed=2))).sum().backward()
    close(q.grad, qt.grad)
    assert k.grad is None and v.grad is None


def test_attention_with_overflowing_scores_is_silent_as_in_torch():
    """Scores beyond float32 make nan/inf outputs without a NumPy RuntimeWarning, as in torch."""
    import warnings
    torch = pytest.importorskip("torch")
    q = np.full((1, 2, 3, 4), 1e30, dtype=np.float32)
    k = np.full((1, 2, 3, 4), 1e30, dtype=np.float32)
    k[..., 0, :] = -1e30
    v = np.ones((1, 2, 3, 4), dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = ember.nn.functional.scaled_dot_product_attention(ember.tensor(q), ember.tensor(k), ember.tensor(v))
    want = torch.nn.functional.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v))
    np.testing.assert_array_equal(np.isnan(got.numpy()), np.isnan(want.numpy()))

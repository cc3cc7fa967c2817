"""Direct convolution kernels: register-blocked loops, written as LLVM IR and compiled at run time (llvmlite).

Why not im2col + BLAS here. At stride 1, ``ops/conv.py`` lays each padded input plane out flat (the
*padded grid*, P = the product of the padded sizes); then the input under kernel offset k for output
position (r, c) -- row r, column c -- sits at ``plane[off_k + start_r + c]``: along a row, one contiguous
run. im2col copies those runs into a column matrix and BLAS multiplies it. On a small CNN's shapes (16-64
output channels, C*K = 9-576 rows) that GEMM reaches ~70% of a core's peak, and the copy is a pass of its
own. The loops below read the runs in place:

    forward (and, with the kernel flipped, the input gradient):
        y[n, o, r, c]  = b[o] + sum_{c',k} w[o, c'*K + k] * x[n, c'*P + off_k + start_r + c]
    weight gradient:
        dW[o, c'*K+k] = sum_{n,r,c} g[n, o, r, c] * x[n, c'*P + off_k + start_r + c]

Each output row is cut into *segments* of V positions (V = floats per SIMD register; the row's last
segment is partial). A segment is one vector: loaded from the input run, stored to (or, for g, loaded
from) the output row with its unused lanes masked off, so y and g are used in their own layout, no copy.

**Register blocking** is what makes the loops fast. The forward keeps an MR x NV block of vector
accumulators (MR output channels times NV segments) through the whole sum over (c', k): each step loads NV
input vectors and MR weights (broadcast) for MR*NV fused multiply-adds, and the block is stored once at
the end. The weight gradient keeps MR x NK accumulators (channel o times weight row c'*K+k), each a vector
of partial sums over positions; each step loads MR + NK vectors for MR*NK multiply-adds, and the caller
sums the V lanes at the end. Loops written for Numba were tried first: LLVM neither kept their
accumulators in registers nor vectorised the short rows (4-27 GFLOP/s on one core, against ~100 here).
Generating the IR states the blocking outright.

Small planes (4x4 or 8x8 outputs: rows of 4-8 in 16-float vectors) would leave most lanes idle, so a
second pair of kernels puts the vectors across output channels instead: y laid out channels last, and each
step broadcasts MR inputs (one per output position, at any grid offset) against NV vectors of weights
(the weights transposed to (C*K, O)). Every lane then holds a real output.

The IR is built with ``llvmlite.ir`` (``pip install ember[fast]``; Numba is built on it), optimised at -O3
for the host CPU (AVX-512: V=16, 32 registers; else V=8, 16 registers) and compiled when this module is
first imported (~0.1 s). The calls go through ctypes, which releases the GIL, so ``ops/conv.py`` runs slabs
of the batch on every core. A masked-off lane still reads the input under it (past a row's end, into the
next row, the next plane, or a zero overhang the caller allocates); the forward never stores it, and the
weight gradient multiplies it by a zero. float32 only; im2col + BLAS stays the reference the tests
compare with.
"""
import ctypes
import threading

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir

__all__ = ["lanes", "blocking", "channel_blocking", "segments", "forward", "weight_grad", "forward_channels",
           "weight_grad_channels"]

llvm.initialize_native_target()
llvm.initialize_native_asmprinter()

_F32, _I64, _PTR = ir.FloatType(), ir.IntType(64), ir.PointerType()
_FEATURES = llvm.get_host_cpu_features()
_AVX512 = _FEATURES.get("avx512f", False)
_V = 16 if _AVX512 else 8                   # floats per vector register
# (MR, NV) forward and (MR, NK) weight-gradient blocks: accumulators + loaded vectors fit the register file
# (32 on AVX-512, 16 on AVX2). Measured on the small CNN's 16 -> 32 channel layer (one core, AVX-512, GFLOP/s):
# forward 4x4 97, 6x3 83, 4x6 70, 8x3 38, 6x4 24 (the last two spill accumulators); weight gradient 4x4 88,
# 4x6 83, 8x3 82, 6x4 75.
_FWD = (4, 4) if _AVX512 else (4, 2)
_WGRAD = (4, 4) if _AVX512 else (2, 4)
# The channel-vectorised kernels' blocks: (MR positions or weight rows, NV vectors of channels). Measured on
# ResNet-18's 512-channel 4x4, 256 8x8 and 128 16x16 layers (one core, GFLOP/s): forward 4x4 104 / 97 / 104,
# 6x2 40 / 83 / 95, 8x2 83 / 80 / 77; weight gradient 4x4 105 / 93 / 102, 6x2 100 / 105 / 86, 8x2 54-57.
_CFWD = (4, 4) if _AVX512 else (4, 2)
_CWGRAD = (4, 4) if _AVX512 else (4, 2)


def lanes():
    """V, the floats in one vector register: the positions in one segment of an output row."""
    return _V


def blocking():
    """((MR, NV), (MR, NK)): the register blocks of the forward and weight-gradient kernels. Callers pad
    output channels to a multiple of MR and weight rows to a multiple of NK."""
    return _FWD, _WGRAD


def channel_blocking():
    """((MR, NV), (MR, NV)): the blocks of the channel-vectorised forward and weight gradient. Callers pad
    output channels to a multiple of NV*V and, for the weight gradient, weight rows to a multiple of MR."""
    return _CFWD, _CWGRAD


# ------------------------------------------------------------------------------------------------ IR helpers
def _const(v):
    return ir.Constant(_I64, v)


def _at(b, p, i, ty=_F32):
    """&p[i] (p a pointer to ``ty``)."""
    return b.gep(p, [i], inbounds=True, source_etype=ty)


def _loop(b, lo, hi, step, body, name):
    """for i in range(lo, hi, step): body(b, i) -- the counter lives in an alloca, which -O3 promotes."""
    iv = b.alloca(_I64, name=name)
    b.store(lo, iv)
    cond, block, end = (b.append_basic_block(f"{name}.{s}") for s in ("cond", "body", "end"))
    b.branch(cond)
    b.position_at_end(cond)
    b.cbranch(b.icmp_signed("<", b.load(iv, typ=_I64), hi), block, end)
    b.position_at_end(block)
    body(b, b.load(iv, typ=_I64))
    b.store(b.add(b.load(iv, typ=_I64), step), iv)
    b.branch(cond)
    b.position_at_end(end)


def _vector_ops(module):
    """The vector type and the few operations the kernels use: fma, splat (one float in every lane),
    load, and masked load/store of the first ``n`` lanes (a row's last, partial vector)."""
    vt = ir.VectorType(_F32, _V)
    mt = ir.VectorType(ir.IntType(1), _V)
    i32 = ir.IntType(32)
    fma = ir.Function(module, ir.FunctionType(vt, [vt, vt, vt]), name=f"llvm.fma.v{_V}f32")
    mload = ir.Function(module, ir.FunctionType(vt, [_PTR, i32, mt, vt]), name=f"llvm.masked.load.v{_V}f32.p0")
    mstore = ir.Function(module, ir.FunctionType(ir.VoidType(), [vt, _PTR, i32, mt]),
                         name=f"llvm.masked.store.v{_V}f32.p0")
    lane = ir.Constant(ir.VectorType(i32, _V), list(range(_V)))
    zero = ir.Constant(vt, [0.0] * _V)

    class Ops:
        def splat(b, s):
            v = b.insert_element(ir.Constant(vt, ir.Undefined), s, ir.Constant(i32, 0))
            return b.shuffle_vector(v, ir.Constant(vt, ir.Undefined), ir.Constant(ir.VectorType(i32, _V), [0] * _V))

        def load(b, p):
            return b.load(p, typ=vt, align=4)

        def mask(b, n):                          # lanes 0..n-1 on
            n = b.trunc(n, i32)
            nv = b.insert_element(ir.Constant(ir.VectorType(i32, _V), ir.Undefined), n, ir.Constant(i32, 0))
            nv = b.shuffle_vector(nv, ir.Constant(ir.VectorType(i32, _V), ir.Undefined),
                                  ir.Constant(ir.VectorType(i32, _V), [0] * _V))
            return b.icmp_signed("<", lane, nv)

        def masked_load(b, p, m):
            return b.call(mload, [p, ir.Constant(i32, 4), m, zero])

        def masked_store(b, v, p, m):
            b.call(mstore, [v, p, ir.Constant(i32, 4), m])

    Ops.vt, Ops.fma, Ops.zero = vt, fma, zero
    return Ops


# each kernel's arguments: p a pointer, i an int64 (in the order of its docstring's signature)
_SIGNATURES = {"convf": "pipppipiiipppii", "wgrad": "piipipipipppiii", "convc": "pipppipiipiii",
               "wgradc": "pipipipipiii"}


def _kernel(name):
    """A module with an empty function ``name`` (arguments typed by ``_SIGNATURES``): the module, the vector
    operations, the arguments and a builder at the function's entry."""
    module = ir.Module(name=name)
    ops = _vector_ops(module)
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [_PTR if t == "p" else _I64 for t in _SIGNATURES[name]]),
                     name=name)
    return module, ops, fn.args, ir.IRBuilder(fn.append_basic_block("entry"))


def _accumulators(b, ops, inits):
    """Allocas holding vector accumulators (-O3 keeps them in registers), each set to its initial value."""
    accs = [[b.alloca(ops.vt) for _ in row] for row in inits]
    for row, vals in zip(accs, inits):
        for a, v in zip(row, vals):
            b.store(v, a)
    return accs


def _segments(b, table, s, count):
    """Grid offsets, output offsets and lane counts of segments s .. s+count-1 (``table``: the pointers to
    the three int64 rows of :func:`segments`'s table)."""
    gpos, ypos, lanes = table
    return ([b.load(_at(b, col, b.add(s, _const(j)), _I64), typ=_I64) for j in range(count)]
            for col in (gpos, ypos, lanes))


def _forward_ir():
    """convf(x, xs, w, bias, offs, K, y, ys, yrow, O, gpos, ypos, lanes, S, N): for samples n < N, channels
    o < O and segments s < S (a segment: up to V consecutive output positions of one row),
    y[n*ys + o*yrow + ypos[s] + l] = bias[o] + sum_{k<K} w[o*K + k] * x[n*xs + offs[k] + gpos[s] + l]
    for lanes l < lanes[s]. ``w`` and ``bias`` have their rows padded to a multiple of MR."""
    MR, NV = _FWD
    module, ops, args, b = _kernel("convf")
    x, xs, w, bias, offs, K, y, ys, yrow, O, gpos, ypos, lanes, S, N = args

    def sample(b, n):
        xn, yn = _at(b, x, b.mul(n, xs)), _at(b, y, b.mul(n, ys))

        def channels(b, o0):
            def segments(nv):
                def block(b, s0):
                    g0, y0, l0 = _segments(b, (gpos, ypos, lanes), s0, nv)
                    inits = [[ops.splat(b, b.load(_at(b, bias, b.add(o0, _const(i))), typ=_F32))] * nv
                             for i in range(MR)]
                    accs = _accumulators(b, ops, inits)
                    wrow = _at(b, w, b.mul(o0, K))

                    def step(b, k):
                        src = _at(b, xn, b.load(_at(b, offs, k, _I64), typ=_I64))
                        xv = [ops.load(b, _at(b, src, g0[j])) for j in range(nv)]
                        for i in range(MR):
                            wv = ops.splat(b, b.load(_at(b, wrow, b.add(b.mul(_const(i), K), k)), typ=_F32))
                            for j in range(nv):
                                b.store(b.call(ops.fma, [wv, xv[j], b.load(accs[i][j], typ=ops.vt)]), accs[i][j])

                    _loop(b, _const(0), K, _const(1), step, "k")
                    masks = [ops.mask(b, l0[j]) for j in range(nv)]
                    for i in range(MR):          # rows past O (the block's padding) are not stored
                        with b.if_then(b.icmp_signed("<", b.add(o0, _const(i)), O)):
                            dst = _at(b, yn, b.mul(b.add(o0, _const(i)), yrow))
                            for j in range(nv):
                                ops.masked_store(b, b.load(accs[i][j], typ=ops.vt), _at(b, dst, y0[j]), masks[j])
                return block

            main = b.mul(b.sdiv(S, _const(NV)), _const(NV))
            _loop(b, _const(0), main, _const(NV), segments(NV), "s")     # NV segments at a time
            _loop(b, main, S, _const(1), segments(1), "t")               # then the last few, one by one

        _loop(b, _const(0), O, _const(MR), channels, "o")

    _loop(b, _const(0), N, _const(1), sample, "n")
    b.ret_void()
    return module


def _weight_grad_ir():
    """wgrad(g, gs, grow, x, xs, offs, K, acc, O, gpos, ypos, lanes, S, N, chunk): for channel blocks o < O
    and weight rows k < K (a multiple of NK), acc[(o*K + k)*V + l] += sum over samples n < N and segments
    s < S of g[n*gs + o*grow + ypos[s] + l] * x[n*xs + offs[k] + gpos[s] + l], lanes l >= lanes[s] counting
    zero. Samples go ``chunk`` at a time through each block of accumulators, so the chunk's rows stay in
    cache while every block reads them. Rows o >= O read row O-1 (their sums are thrown away)."""
    MR, NK = _WGRAD
    module, ops, args, b = _kernel("wgrad")
    g, gs, grow, x, xs, offs, K, acc, O, gpos, ypos, lanes, S, N, chunk = args

    def chunks(b, n0):
        n1 = b.select(b.icmp_signed("<", b.add(n0, chunk), N), b.add(n0, chunk), N)

        def channels(b, o0):
            def rows(b, k0):
                accs = _accumulators(b, ops, [[ops.zero] * NK for _ in range(MR)])

                def sample(b, n):
                    gn, xn = _at(b, g, b.mul(n, gs)), _at(b, x, b.mul(n, xs))
                    grows = []
                    for i in range(MR):
                        o = b.add(o0, _const(i))
                        o = b.select(b.icmp_signed("<", o, O), o, b.sub(O, _const(1)))
                        grows.append(_at(b, gn, b.mul(o, grow)))
                    xrows = [_at(b, xn, b.load(_at(b, offs, b.add(k0, _const(j)), _I64), typ=_I64)) for j in range(NK)]

                    def step(b, s):
                        (gp,), (yp,), (ln,) = _segments(b, (gpos, ypos, lanes), s, 1)
                        m = ops.mask(b, ln)
                        gv = [ops.masked_load(b, _at(b, r, yp), m) for r in grows]
                        xv = [ops.load(b, _at(b, r, gp)) for r in xrows]
                        for i in range(MR):
                            for j in range(NK):
                                b.store(b.call(ops.fma, [gv[i], xv[j], b.load(accs[i][j], typ=ops.vt)]), accs[i][j])

                    _loop(b, _const(0), S, _const(1), step, "s")

                _loop(b, n0, n1, _const(1), sample, "n")
                for i in range(MR):
                    for j in range(NK):
                        dst = _at(b, acc, b.mul(b.add(b.mul(b.add(o0, _const(i)), K), b.add(k0, _const(j))), _const(_V)))
                        b.store(b.fadd(ops.load(b, dst), b.load(accs[i][j], typ=ops.vt)), dst, align=4)

            _loop(b, _const(0), K, _const(NK), rows, "k")

        _loop(b, _const(0), b.mul(b.sdiv(b.add(O, _const(MR - 1)), _const(MR)), _const(MR)), _const(MR), channels, "o")

    _loop(b, _const(0), N, chunk, chunks, "c")
    b.ret_void()
    return module


def _forward_channels_ir():
    """convc(x, xs, w, bias, offs, K, y, ys, O, pos, P, N, KC): the forward vectorised over output channels,
    for small planes (rows too short to fill a vector). For samples n < N, positions p < P and channels o < O
    (a multiple of NV*V): y[n*ys + p*O + o] = bias[o] + sum_{k<K} w[k*O + o] * x[n*xs + offs[k] + pos[p]].
    The block: MR positions x NV vectors of channels; each step broadcasts MR inputs and loads NV weight
    vectors. The sum over k goes KC rows at a time (the block restarts from what y holds), with the samples
    inside: each KC x NV*V slice of the weights is read from cache by every sample, not from memory."""
    MR, NV = _CFWD
    module, ops, args, b = _kernel("convc")
    x, xs, w, bias, offs, K, y, ys, O, pos, P, N, KC = args

    def channels(b, o0):
        def slices(b, k0):
            k1 = b.select(b.icmp_signed("<", b.add(k0, KC), K), b.add(k0, KC), K)
            first = b.icmp_signed("==", k0, _const(0))

            def sample(b, n):
                xn, yn = _at(b, x, b.mul(n, xs)), _at(b, y, b.mul(n, ys))

                def positions(mr):
                    def block(b, p0):
                        ps = [b.load(_at(b, pos, b.add(p0, _const(i)), _I64), typ=_I64) for i in range(mr)]
                        dsts = [_at(b, yn, b.add(b.mul(b.add(p0, _const(i)), O), o0)) for i in range(mr)]
                        inits = [[b.select(first, ops.load(b, _at(b, bias, b.add(o0, _const(j * _V)))),
                                           ops.load(b, _at(b, dsts[i], _const(j * _V)))) for j in range(NV)]
                                 for i in range(mr)]
                        accs = _accumulators(b, ops, inits)

                        def step(b, k):
                            src = _at(b, xn, b.load(_at(b, offs, k, _I64), typ=_I64))
                            wrow = _at(b, w, b.add(b.mul(k, O), o0))
                            wv = [ops.load(b, _at(b, wrow, _const(j * _V))) for j in range(NV)]
                            for i in range(mr):
                                xv = ops.splat(b, b.load(_at(b, src, ps[i]), typ=_F32))
                                for j in range(NV):
                                    b.store(b.call(ops.fma, [xv, wv[j], b.load(accs[i][j], typ=ops.vt)]), accs[i][j])

                        _loop(b, k0, k1, _const(1), step, "k")
                        for i in range(mr):
                            for j in range(NV):
                                b.store(b.load(accs[i][j], typ=ops.vt), _at(b, dsts[i], _const(j * _V)), align=4)
                    return block

                main = b.mul(b.sdiv(P, _const(MR)), _const(MR))
                _loop(b, _const(0), main, _const(MR), positions(MR), "p")
                _loop(b, main, P, _const(1), positions(1), "q")

            _loop(b, _const(0), N, _const(1), sample, "n")

        _loop(b, _const(0), K, KC, slices, "c")

    _loop(b, _const(0), O, _const(NV * _V), channels, "o")
    b.ret_void()
    return module


def _weight_grad_channels_ir():
    """wgradc(g, gs, x, xs, offs, K, dw, O, pos, P, N, NC): the weight gradient vectorised over output
    channels. For weight rows k < K (a multiple of MR) and channels o < O (of NV*V):
    dw[k*O + o] = sum_{n<N, p<P} g[n*gs + p*O + o] * x[n*xs + offs[k] + pos[p]]. The block: MR weight rows x
    NV vectors of channels, summed in registers over ``NC`` samples at a time (then added to dw), so that
    the chunk's gradient rows stay in cache while every block of weight rows reads them. Callers split the
    rows k between threads: each sum is whole, nothing to add up afterwards."""
    MR, NV = _CWGRAD
    module, ops, args, b = _kernel("wgradc")
    g, gs, x, xs, offs, K, dw, O, pos, P, N, NC = args

    def chunks(b, n0):
        n1 = b.select(b.icmp_signed("<", b.add(n0, NC), N), b.add(n0, NC), N)
        first = b.icmp_signed("==", n0, _const(0))

        def channels(b, o0):
            def rows(b, k0):
                dsts = [_at(b, dw, b.add(b.mul(b.add(k0, _const(i)), O), o0)) for i in range(MR)]
                accs = _accumulators(b, ops, [[b.select(first, ops.zero, ops.load(b, _at(b, dsts[i], _const(j * _V))))
                                               for j in range(NV)] for i in range(MR)])

                def sample(b, n):
                    gn = _at(b, g, b.add(b.mul(n, gs), o0))
                    xrows = [_at(b, x, b.add(b.mul(n, xs), b.load(_at(b, offs, b.add(k0, _const(i)), _I64), typ=_I64)))
                             for i in range(MR)]

                    def step(b, p):
                        q = b.load(_at(b, pos, p, _I64), typ=_I64)
                        grow = _at(b, gn, b.mul(p, O))
                        gv = [ops.load(b, _at(b, grow, _const(j * _V))) for j in range(NV)]
                        for i in range(MR):
                            xv = ops.splat(b, b.load(_at(b, xrows[i], q), typ=_F32))
                            for j in range(NV):
                                b.store(b.call(ops.fma, [xv, gv[j], b.load(accs[i][j], typ=ops.vt)]), accs[i][j])

                    _loop(b, _const(0), P, _const(1), step, "p")

                _loop(b, n0, n1, _const(1), sample, "n")
                for i in range(MR):
                    for j in range(NV):
                        b.store(b.load(accs[i][j], typ=ops.vt), _at(b, dsts[i], _const(j * _V)), align=4)

            _loop(b, _const(0), K, _const(MR), rows, "k")

        _loop(b, _const(0), O, _const(NV * _V), channels, "o")

    _loop(b, _const(0), N, NC, chunks, "c")
    b.ret_void()
    return module


# ------------------------------------------------------------------------------------------------ compiling
_engines = []                # the execution engines own the machine code: kept for the process's lifetime
_compiled = {}
_lock = threading.Lock()


def _compile(name, build):
    """The ctypes function ``name`` of IR ``build()`` (compiled on first use, for this CPU, at -O3)."""
    with _lock:
        if name not in _compiled:
            tm = llvm.Target.from_default_triple().create_target_machine(
                cpu=llvm.get_host_cpu_name(), features=_FEATURES.flatten(), opt=3)
            mod = llvm.parse_assembly(str(build()))
            mod.verify()
            pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=3))
            pb.getModulePassManager().run(mod, pb)
            engine = llvm.create_mcjit_compiler(mod, tm)
            engine.finalize_object()
            _engines.append(engine)
            argtypes = [ctypes.c_void_p if t == "p" else ctypes.c_int64 for t in _SIGNATURES[name]]
            _compiled[name] = ctypes.CFUNCTYPE(None, *argtypes)(engine.get_function_address(name))
        return _compiled[name]


def _ptr(a):
    return a.ctypes.data


# Compiled at import (~0.1 s): an llvmlite too old for this IR fails here, where ``ember._jit`` catches it and
# the convolutions keep their NumPy route, not in the middle of a training step.
for _name, _build in (("convf", _forward_ir), ("wgrad", _weight_grad_ir), ("convc", _forward_channels_ir),
                      ("wgradc", _weight_grad_channels_ir)):
    _compile(_name, _build)


def segments(row_offsets, width):
    """The segment table of an output laid out as rows of ``width`` positions, row r starting at grid
    offset ``row_offsets[r]``: one segment per V positions of a row (the last one partial). Returns the
    (3, S) int64 array (grid offset, output offset, lanes) both kernels take."""
    starts = np.arange(0, width, _V, dtype=np.int64)
    rows = np.arange(len(row_offsets), dtype=np.int64)[:, None]
    gpos = (np.asarray(row_offsets, np.int64)[:, None] + starts).reshape(-1)
    ypos = (rows * width + starts).reshape(-1)
    lanes = np.broadcast_to(np.minimum(width - starts, _V), (len(row_offsets), len(starts))).reshape(-1)
    return np.ascontiguousarray(np.stack([gpos, ypos, lanes]))


def forward(x, x_sample, w, bias, offs, y, table, n):
    """The forward kernel on ``n`` samples: ``x`` the flat padded planes (sample stride ``x_sample``), ``w``
    (Op, K) and ``bias`` (Op,) float32 with Op a multiple of MR, ``offs`` (K,) int64 offsets of each weight
    column's run, ``y`` (n, O, positions) C-contiguous, ``table`` from :func:`segments`."""
    f = _compile("convf", _forward_ir)
    S = table.shape[1]
    f(_ptr(x), x_sample, _ptr(w), _ptr(bias), _ptr(offs), w.shape[1], _ptr(y), y.shape[1] * y.shape[2],
      y.shape[2], y.shape[1], _ptr(table), _ptr(table[1]), _ptr(table[2]), S, n)


def weight_grad(g, x, x_sample, offs, acc, table, n, chunk=4):
    """The weight-gradient kernel: ``acc`` (Op, K, V) += the products of ``g`` (n, O, positions),
    C-contiguous, and the runs of ``x`` at ``offs`` (K,), Op a multiple of MR and K of NK; ``acc.sum(-1)``
    is then dW (the first O rows)."""
    f = _compile("wgrad", _weight_grad_ir)
    S = table.shape[1]
    f(_ptr(g), g.shape[1] * g.shape[2], g.shape[2], _ptr(x), x_sample, _ptr(offs), offs.shape[0], _ptr(acc),
      g.shape[1], _ptr(table), _ptr(table[1]), _ptr(table[2]), S, n, chunk)


_CACHE_SLICE = 256 << 10     # bytes of weights (forward) or of gradient rows (weight gradient) kept in cache


def forward_channels(x, x_sample, w, bias, offs, y, pos, n):
    """The channel-vectorised forward on ``n`` samples: ``w`` (K, Op) and ``bias`` (Op,) with Op a multiple of
    NV*V, ``offs`` (K,) the runs' offsets, ``pos`` (P,) int64 grid offsets of the output positions, ``y``
    (n, P, Op) C-contiguous: output channels last."""
    f = _compile("convc", _forward_channels_ir)
    kc = max(1, _CACHE_SLICE // (_CFWD[1] * _V * 4))
    f(_ptr(x), x_sample, _ptr(w), _ptr(bias), _ptr(offs), w.shape[0], _ptr(y), y.shape[1] * y.shape[2], y.shape[2],
      _ptr(pos), pos.shape[0], n, kc)


def weight_grad_channels(g, x, x_sample, offs, dw, pos, n):
    """The channel-vectorised weight gradient: ``dw`` (K, Op) = the sums over ``n`` samples and the positions
    ``pos`` of ``g`` (n, P, Op) times the inputs at ``offs`` (K,), K a multiple of MR, Op of NV*V."""
    f = _compile("wgradc", _weight_grad_channels_ir)
    nc = max(1, _CACHE_SLICE // (pos.shape[0] * _CWGRAD[1] * _V * 4))
    f(_ptr(g), g.shape[1] * g.shape[2], _ptr(x), x_sample, _ptr(offs), offs.shape[0], _ptr(dw), dw.shape[1],
      _ptr(pos), pos.shape[0], n, nc)

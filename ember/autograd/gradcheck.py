"""Checking analytic gradients against finite differences.

``gradcheck(fn, inputs)`` perturbs every element of every float64 input that requires grad by ±eps,
measures how each output moves (central differences), and compares that numerical Jacobian with the
one backward computes, one output direction at a time. It is how every Function in Ember is tested.
"""
import numpy as np

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised when analytic and numerical gradients disagree (and ``raise_exception`` is True)."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(fn, inputs):
    from .._tensor import Tensor
    out = fn(*inputs)
    return tuple(o for o in _as_tuple(out) if isinstance(o, Tensor))


def _numerical(fn, inputs, i, eps):
    """d(outputs)/d(inputs[i]) by central differences: a list (per output) of (n_in, n_out) arrays."""
    x = inputs[i]._data
    flat = x.reshape(-1)  # a view: perturbations are seen by fn
    outs0 = _outputs(fn, inputs)
    jac = [np.zeros((flat.size, o._data.size)) for o in outs0]
    for k in range(flat.size):
        orig = flat[k]
        flat[k] = orig + eps
        plus = [o._data.astype(np.float64).reshape(-1).copy() for o in _outputs(fn, inputs)]
        flat[k] = orig - eps
        minus = [o._data.astype(np.float64).reshape(-1).copy() for o in _outputs(fn, inputs)]
        flat[k] = orig
        for j in range(len(jac)):
            jac[j][k] = (plus[j] - minus[j]) / (2 * eps)
    return jac


def gradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False, fast_mode=False,
              masked=None):
    """True when backward's Jacobian matches central differences for every input that requires grad."""
    from .._tensor import Tensor, wrap
    from .engine import grad as _grad
    inputs = _as_tuple(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    for i in diff:
        if inputs[i].dtype.name != "float64":
            import warnings
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating point. "
                          "The numerical check may fail because of low precision.")
    outs = _outputs(fn, inputs)
    for i in diff:
        numeric = _numerical(fn, inputs, i, eps)
        for j, o in enumerate(outs):
            if not o.requires_grad:
                continue
            n_out = o._data.size
            analytic = np.zeros((inputs[i]._data.size, n_out))
            for k in range(n_out):
                go = np.zeros(n_out, dtype=o._data.dtype)
                go[k] = 1
                outs_k = _outputs(fn, inputs)
                g = _grad(outs_k[j], [inputs[i]], grad_outputs=[wrap(go.reshape(o._data.shape))],
                          allow_unused=True)[0]
                if g is not None:
                    analytic[:, k] = g._data.astype(np.float64).reshape(-1)
            if not np.allclose(analytic, numeric[j], rtol=rtol, atol=atol):
                msg = (f"Jacobian mismatch for output {j} with respect to input {i},\n"
                       f"numerical:{numeric[j]}\nanalytical:{analytic}\n")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, **kw):
    """gradcheck of the gradient itself (built with create_graph=True): checks double backward."""
    from .._tensor import Tensor, wrap
    from .engine import grad as _grad
    inputs = _as_tuple(inputs)
    diff = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    outs = _outputs(fn, inputs)
    rng = np.random.default_rng(0)
    gos = [wrap(rng.standard_normal(o._data.shape)) for o in outs] if grad_outputs is None else list(grad_outputs)

    def first_grads(*args):
        os_ = _outputs(fn, args)
        ins = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        gs = _grad(os_, ins, grad_outputs=gos, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_grads, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)

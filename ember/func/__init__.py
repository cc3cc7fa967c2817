"""``torch.func``: composable function transforms (grad, vjp, jvp, jacrev, jacfwd, hessian, vmap) and
``functional_call``. See ``eager_transforms.py`` (built on the autograd engine), ``vmap.py`` (per-sample
calls, stacked) and ``functional_call.py``."""
from .eager_transforms import grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian, linearize  # noqa: F401
from .vmap import vmap  # noqa: F401
from .functional_call import functional_call, stack_module_state  # noqa: F401


def functionalize(func, *, remove="mutations"):
    """Ember's ops already run eagerly on NumPy with no graph to rewrite: returns ``func`` unchanged."""
    return func


__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "linearize", "vmap",
           "functional_call", "stack_module_state", "functionalize"]

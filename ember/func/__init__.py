"""``torch.func``: composable function transforms (grad, vjp, jvp, jacrev, jacfwd, hessian, vmap) and
``functional_call``. See ``eager_transforms.py`` (built on the autograd engine), ``vmap.py`` (per-sample
calls, stacked) and ``functional_call.py``."""
from .eager_transforms import grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian, linearize  # noqa: F401
from .vmap import vmap  # noqa: F401
from .functional_call import functional_call, stack_module_state  # noqa: F401
from .rearrange import rearrange  # noqa: F401


def functionalize(func, *, remove="mutations"):
    """Ember's ops already run eagerly on NumPy with no graph to rewrite: returns ``func`` unchanged."""
    return func




def debug_unwrap(tensor, *, recurse=True):
    """Ember's transforms pass plain tensors around (no wrapper objects): returns ``tensor`` itself."""
    return tensor


def replace_all_batch_norm_modules_(root):
    """Make every BatchNorm under ``root`` use batch statistics only (no running stats), in place, as needed
    when a batch-norm model runs under vmap."""
    for m in root.modules():
        if type(m).__name__ in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm") or \
                (hasattr(m, "track_running_stats") and hasattr(m, "running_mean")):
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
            m.track_running_stats = False
    return root


__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "linearize", "vmap",
           "functional_call", "stack_module_state", "functionalize", "rearrange", "debug_unwrap",
           "replace_all_batch_norm_modules_"]

"""Legacy spectral normalization by a forward pre-hook: W = W₀ / σ(W₀) (Miyato et al., 2018).

σ, the largest singular value of W₀ seen as a matrix (``dim`` first, the other dims flattened), is
estimated as σ ≈ uᵀ W₀ v by power iteration: v ← W₀ᵀu / ‖W₀ᵀu‖, u ← W₀v / ‖W₀v‖, ``n_power_iterations``
times before each forward in training mode. ``spectral_norm(m)`` stores W₀ as the parameter
``weight_orig``, u and v as the buffers ``weight_u`` and ``weight_v``, and sets ``m.weight`` (a plain
attribute) before every forward. ``nn.utils.parametrizations.spectral_norm`` is the newer form.
"""
import ember
import ember.nn.functional as F

from ..parameter import Parameter, UninitializedParameter

__all__ = ["SpectralNorm", "SpectralNormLoadStateDictPreHook", "SpectralNormStateDictHook", "spectral_norm",
           "remove_spectral_norm"]


class SpectralNorm:
    """The forward pre-hook that sets ``module.<name> = <name>_orig / σ``."""

    _version = 1  # version 1 state dicts hold <name>_orig, <name>_u and <name>_v

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def reshape_weight_to_matrix(self, weight):
        """``dim`` first, everything else flattened: (size along dim, rest)."""
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        W = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with ember.no_grad():
                for _ in range(self.n_power_iterations):
                    v.copy_(F.normalize(W.t() @ u, dim=0, eps=self.eps))  # in place: the buffers advance
                    u.copy_(F.normalize(W @ v, dim=0, eps=self.eps))
                u, v = u.clone(), v.clone()  # the autograd graph must not see later in-place updates
        sigma = ember.dot(u, W @ v)
        return weight / sigma

    def remove(self, module):
        with ember.no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        for suffix in ("", "_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        if any(isinstance(h, SpectralNorm) and h.name == name for h in module._forward_pre_hooks.values()):
            raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        if isinstance(weight, UninitializedParameter):
            raise ValueError("The module passed to `SpectralNorm` can't have uninitialized parameters. "
                             "Make sure to run the dummy forward before applying spectral normalization")
        with ember.no_grad():
            h, w = fn.reshape_weight_to_matrix(weight).shape
            u = F.normalize(weight.new_empty(h).normal_(0, 1), dim=0, eps=eps)
            v = F.normalize(weight.new_empty(w).normal_(0, 1), dim=0, eps=eps)
        delattr(module, name)
        module.register_parameter(name + "_orig", weight)
        setattr(module, name, weight.detach())
        module.register_buffer(name + "_u", u)
        module.register_buffer(name + "_v", v)
        module.register_forward_pre_hook(fn)
        module._register_state_dict_hook(SpectralNormStateDictHook(fn))
        module._register_load_state_dict_pre_hook(SpectralNormLoadStateDictPreHook(fn))
        return fn


class SpectralNormStateDictHook:
    """Records ``spectral_norm: {<name>.version: 1}`` in the state dict's metadata."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, module, state_dict, prefix, local_metadata):
        versions = local_metadata.setdefault("spectral_norm", {})
        key = self.fn.name + ".version"
        if key in versions:
            raise RuntimeError(f"Unexpected key in metadata['spectral_norm']: {key}")
        versions[key] = self.fn._version


class SpectralNormLoadStateDictPreHook:
    """Loads version-0 state dicts, which stored the normalized ``<name>`` instead of ``<name>_v``.

    v is recovered from W₀ and u: the least-squares v with W₀ v ∝ u, scaled so that uᵀW₀v = σ = W₀ / W.
    """

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        name = self.fn.name
        version = local_metadata.get("spectral_norm", {}).get(name + ".version", None)
        if version is not None:
            return
        weight_key = prefix + name
        if all(weight_key + s in state_dict for s in ("_orig", "_u", "")):
            if weight_key + "_v" in state_dict:
                return
            with ember.no_grad():
                W0, u = state_dict[weight_key + "_orig"], state_dict[weight_key + "_u"]
                W = state_dict.pop(weight_key)
                sigma = (W0 / W).mean()
                M = self.fn.reshape_weight_to_matrix(W0)
                v = ember.linalg.pinv(M.t() @ M) @ M.t() @ u
                state_dict[weight_key + "_v"] = v * (sigma / ember.dot(u, M @ v))


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Normalize ``module.<name>`` by its spectral norm before every forward (see the module docstring).

    ``dim`` defaults to 1 for ConvTranspose layers (their output channels) and 0 otherwise. Returns ``module``.
    """
    if dim is None:
        from ..conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name="weight"):
    """Fold the normalization back into a single parameter ``module.<name>``. Returns ``module``."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            break
    else:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    for hooks, kind in ((module._state_dict_hooks, SpectralNormStateDictHook),
                        (module._load_state_dict_pre_hooks, SpectralNormLoadStateDictPreHook)):
        for key, hook in list(hooks.items()):
            if isinstance(hook, kind) and hook.fn.name == name:
                del hooks[key]
                break
    return module

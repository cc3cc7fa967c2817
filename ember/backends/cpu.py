"""torch.backends.cpu: which SIMD level the CPU kernels use (NumPy's dispatch picks the best one present)."""

__all__ = ["get_cpu_capability"]


def get_cpu_capability():
    """'AVX512', 'AVX2' or 'DEFAULT' (torch's names), from the features NumPy detected at start-up."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as feats
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_features__ as feats
    if feats.get("AVX512F") and feats.get("AVX512BW") and feats.get("AVX512VL"):
        return "AVX512"
    if feats.get("AVX2") and feats.get("FMA3"):
        return "AVX2"
    return "DEFAULT"

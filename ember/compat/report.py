"""``python -m ember.compat.report``: which public PyTorch names Ember provides, namespace by namespace.

Needs PyTorch installed: the list of names comes from the real ``torch``. A name counts as provided when
a program run by ``ember run`` can use it -- ``torch.nn.X`` resolves through the import hook to an Ember
object (not to a stand-in for a missing module). Public names are a module's ``__all__`` when it has one,
else the names ``dir()`` shows without a leading underscore (less imported helpers such as ``typing``
names and foreign modules), plus in both cases the module's own submodules (``torch.fft``, ``torch.nn.init``);
for ``torch.Tensor``, its attributes without a leading underscore.

Options: ``--missing`` lists only what is missing; ``--summary`` prints only the percentages;
``--json FILE`` also writes ``{namespace: {"provided": [...], "missing": [...]}}``.

``--user-facing`` is the stricter view (:func:`user_facing_coverage`). Its names are the public functions
and classes a program calls -- leaving out ``_``-names, submodules, constants (dtypes, ``pi``), C++ binding
types (pybind11 classes, anything from ``torch._C``), TorchScript/JIT internals (``torch.jit``,
``torch._jit_internal``), functions without a docstring (torch documents every public function it means
users to call; undocumented ones such as ``torch.cudnn_convolution`` are kernels exposed by the binding)
and deprecated aliases (a docstring saying ``deprecated``, or a ``__deprecated__`` marker; torch's DataPipes),
re-exports of another namespace's objects (``torch.nn.functional.Tensor``), and the subsystems Ember does
not model (``OUTSIDE``: sparse, quantized and nested tensors, accelerators other than CUDA, the compiler's
symbolic-shape ``sym_*`` and functionalization ``*_copy`` variants, C++ metadata types, the
``__torch_function__`` dispatch helpers and typing aliases). A name counts
there only when Ember provides it *and a test exercises it against torch*, decided by reading the tests
(:func:`tested_names`, the rule is spelled out there).
"""
import argparse
import importlib
import json
import re
import sys
import types
from pathlib import Path

NAMESPACES = ["torch", "torch.nn", "torch.nn.functional", "torch.optim", "torch.utils.data", "torch.Tensor"]
_NOT_API = {"TYPE_CHECKING"}


def _import_real_torch():
    from . import is_installed, uninstall
    if is_installed():
        uninstall()
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


def public_names(torch, namespace):
    """The public names of a PyTorch namespace (module or ``torch.Tensor``), sorted."""
    if namespace == "torch.Tensor":
        return sorted(n for n in dir(torch.Tensor) if not n.startswith("_"))
    mod = importlib.import_module(namespace)
    has_all = bool(getattr(mod, "__all__", None))
    names = set(mod.__all__) if has_all else set()
    for n in dir(mod):
        if n.startswith("_") or n in _NOT_API:
            continue
        obj = getattr(mod, n, None)
        if isinstance(obj, types.ModuleType):
            if obj.__name__ == f"{namespace}.{n}":  # its own submodules (torch.fft, torch.nn.init) are API
                names.add(n)
            continue
        if has_all or getattr(obj, "__module__", None) in ("typing", "typing_extensions", "collections.abc", "abc"):
            continue  # with an __all__, the other names are helpers
        names.add(n)
    return sorted(names)


def ember_provides(namespace, name):
    """True when a PyTorch program run on Ember finds ``namespace.name`` (an Ember object)."""
    from ._hook import TorchModule, _resolve
    try:
        if namespace == "torch.Tensor":
            import ember
            return hasattr(ember.Tensor, name)
        mod = _resolve(namespace)
        if mod is None:
            return False
        value = getattr(mod, name)
    except Exception:  # noqa: BLE001 -- anything that fails to resolve is not provided
        return False
    return not (isinstance(value, TorchModule) and value.__dict__["_ember_target"] is None)


def coverage(torch, namespaces=NAMESPACES):
    """``{namespace: (provided_names, missing_names)}``."""
    out = {}
    for ns in namespaces:
        names = public_names(torch, ns)
        have = [n for n in names if ember_provides(ns, n)]
        hs = set(have)
        out[ns] = (have, [n for n in names if n not in hs])
    return out


def _percent(have, missing):
    total = len(have) + len(missing)
    return 100.0 * len(have) / total if total else 100.0


def _table(names, marks, width=100):
    """Names in columns, each prefixed by its mark ('[x]' provided, '[ ]' missing)."""
    cells = [f"{marks[n]} {n}" for n in names]
    if not cells:
        return "    (none)"
    col = 32  # a cell takes as many columns of this width as its name needs
    rows, row = [], ""
    for c in cells:
        cell = c.ljust(-(-(len(c) + 2) // col) * col)
        if row and len(row) + len(cell) > width - 4:
            rows.append(row)
            row = ""
        row += cell
    rows.append(row)
    return "\n".join("    " + r.rstrip() for r in rows)


def format_report(cov, missing_only=False, summary_only=False, label="provided"):
    """The report as text; ``label`` names what counts ('provided', or 'tested' in the user-facing view)."""
    lines = []
    if not summary_only:
        for ns, (have, missing) in cov.items():
            lines.append(f"{ns}: {len(have)}/{len(have) + len(missing)} {label} ({_percent(have, missing):.1f}%)")
            names = missing if missing_only else sorted(have + missing)
            marks = {n: "[x]" for n in have}
            marks.update({n: "[ ]" for n in missing})
            lines.append(_table(names, marks))
            lines.append("")
    w = max([22] + [len(ns) + 2 for ns in cov])  # the name column fits the longest namespace
    lines.append(f"{'namespace':<{w}}{label:>10}{'total':>8}{'coverage':>10}")
    lines.append("-" * (w + 28))
    all_have = all_total = 0
    for ns, (have, missing) in cov.items():
        total = len(have) + len(missing)
        all_have += len(have)
        all_total += total
        lines.append(f"{ns:<{w}}{len(have):>10}{total:>8}{_percent(have, missing):>9.1f}%")
    lines.append("-" * (w + 28))
    lines.append(f"{'all':<{w}}{all_have:>10}{all_total:>8}{100.0 * all_have / max(all_total, 1):>9.1f}%")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# the user-facing view
# ----------------------------------------------------------------------------------------------
USER_NAMESPACES = ["torch", "torch.nn", "torch.nn.functional", "torch.nn.init", "torch.optim",
                   "torch.optim.lr_scheduler", "torch.utils.data", "torch.Tensor", "torch.linalg", "torch.fft",
                   "torch.special", "torch.distributions", "torch.func", "torch.nn.utils"]

# How tests name a namespace besides ``torch.<ns>`` / ``ember.<ns>`` (the usual import aliases)
ALIASES = {"torch.nn": ["nn"], "torch.nn.functional": ["F", "functional"], "torch.nn.init": ["init"],
           "torch.optim": ["optim"], "torch.optim.lr_scheduler": ["lr_scheduler", "sched"],
           "torch.utils.data": ["data", "edata", "tdata"], "torch.linalg": ["linalg", "LA"],
           "torch.fft": ["fft"], "torch.special": ["special"], "torch.distributions": ["distributions", "D", "dist"],
           "torch.func": ["func"], "torch.nn.utils": ["nn_utils", "utils"]}
_DEPRECATED = re.compile(r"(?i)\.\. deprecated::|\bis deprecated\b|\bdeprecated alias\b|\bdeprecated in favou?r\b|"
                         r"^\s*deprecated\b|\bhas been deprecated\b")
_ORACLE = re.compile(r"^\s*(import torch\b|from torch\b|from conftest import TORCH)|importorskip\(\s*[\"']torch[\"']|"
                     r"\bTORCH\b|\b_torch\(\)", re.M)


OUTSIDE = re.compile(
    r"^(q_\w+|quantize\w*|quantized_\w+|fake_quantize\w*|dequantize|int_repr|qscheme|sparse_\w+|to_sparse\w*|"
    r"to_mkldnn|is_(ipu|xla|xpu|mtia|maia|mps|vulkan|mkldnn|quantized|sparse_csr|nested)|ipu|xpu|mtia|sym_\w+|"
    r"\w+_copy|coalesce|is_coalesced|indices|values|crow_indices|col_indices|ccol_indices|row_indices|dense_dim|"
    r"sparse_dim|sparse_mask|smm|sspaddmm|hspmm|to_padded_tensor|nonzero_static|layout|memory_format|FatalError|"
    r"hash_tensor|Sym(Bool|Float|Int)|has_torch_function\w*|handle_torch_function|DType|factory_kwargs|parse_\w+|import_ir_module\w*|merge_type_from_type_comment|unify_type_list)$")


def _obj(torch, namespace, name):
    if namespace == "torch.Tensor":
        return torch.Tensor.__dict__.get(name, getattr(torch.Tensor, name, None))
    return getattr(importlib.import_module(namespace), name, None)


def _is_binding_type(cls):
    if cls.__name__ in ("Generator", "device", "dtype", "Size"):
        return False  # C++ classes that are core API (torch.Generator has no docstring, yet is documented)
    mod = getattr(cls, "__module__", "") or ""
    doc = cls.__dict__.get("__doc__")
    return type(cls).__name__ == "pybind11_type" or (mod.startswith("torch._C") and not (doc and doc.strip()))


def _is_deprecated(obj):
    if getattr(obj, "__deprecated__", None):
        return True
    doc = getattr(obj, "__doc__", None)
    return isinstance(doc, str) and bool(_DEPRECATED.search(doc[:800]))


def is_user_facing(torch, namespace, name):
    """Whether ``namespace.name`` is one of torch's user-facing functions/classes (see the module doc)."""
    if name.startswith("_") or OUTSIDE.match(name):
        return False
    obj = _obj(torch, namespace, name)
    if obj is None or isinstance(obj, types.ModuleType):
        return False
    mod = getattr(obj, "__module__", "") or ""
    if mod.startswith(("torch.jit", "torch._jit_internal", "torch.fx", "torch._dynamo",
                       "torch.utils.data.datapipes", "torch.overrides")):
        return False
    if namespace not in ("torch", "torch.Tensor") and mod.startswith("torch") and mod != "torch" and \
            not mod.startswith(namespace) and isinstance(obj, type):
        return False  # a class re-exported from elsewhere (torch.nn.functional.Tensor is torch.Tensor)
    if namespace not in ("torch", "torch.Tensor") and obj is getattr(torch, name, None) and isinstance(obj, type):
        return False
    if namespace == "torch.Tensor" and isinstance(obj, (property, types.GetSetDescriptorType,
                                                         types.MemberDescriptorType)):
        return not _is_deprecated(obj) and name not in ("volatile", "output_nr", "name", "names")
    if isinstance(obj, type):
        return not _is_binding_type(obj) and not _is_deprecated(obj)
    if not callable(obj):
        return False  # constants: dtypes, pi, default_generator ...
    doc = getattr(obj, "__doc__", None)
    if not (isinstance(doc, str) and doc.strip()) or "torch._C." in doc[:300]:
        return False  # undocumented kernels, and pybind11 bindings (their docstring is a C++ signature)
    return not _is_deprecated(obj)


def user_facing_names(torch, namespace):
    return [n for n in public_names(torch, namespace) if is_user_facing(torch, namespace, n)]


def oracle_sources(root=None):
    """The texts that test Ember against torch: ``tests/**/*.py`` files that import or ask for torch,
    and the ``examples/pytorch`` programs (``tests/test_examples.py`` compares their output with torch's)."""
    root = Path(root) if root is not None else Path(__file__).resolve().parents[2]
    texts = []
    for f in sorted((root / "tests").rglob("*.py")):
        text = f.read_text(encoding="utf-8", errors="replace")
        if _ORACLE.search(text):
            texts.append(text)
    for f in sorted((root / "examples" / "pytorch").glob("*.py")):
        texts.append(f.read_text(encoding="utf-8", errors="replace"))
    return texts


# a file parametrised over op names looks them up on the namespace with getattr(<the namespace>, name)
_GETATTR = {"torch": re.compile(r"getattr\((torch|ember|lib)\s*,"),
            "torch.nn.functional": re.compile(r"getattr\((F|torch\.nn\.functional|ember\.nn\.functional)\s*,"),
            "torch.Tensor": re.compile(r"getattr\((?!(torch|ember|lib|F|nn)\s*,)[\w.]+(\[[^\]]*\]|\(\))?\s*,")}


def tested_names(namespace, names, texts):
    """The ``names`` of ``namespace`` that the oracle texts exercise. The rule:

    * module namespaces: the text spells ``torch.<ns>.<name>`` or ``ember.<ns>.<name>`` (``<ns>`` empty for the
      top level), or ``<alias>.<name>`` with an import alias of the namespace (``F.relu``, ``nn.Linear``,
      ``optim.SGD`` -- see ``ALIASES``), or ``lib.<ns>.<name>`` (tests that loop ``for lib in (torch, ember)``),
      or imports it (``from torch.nn import Linear``);
    * ``torch.Tensor``: a method call or attribute read ``x.<name>`` / ``).<name>`` / ``].<name>`` (not after
      ``torch``, ``ember``, ``lib``, ``np``, ``F`` or ``nn``, which are module functions);
    * ``torch``, ``torch.Tensor`` and ``torch.nn.functional`` also count a quoted ``"<name>"`` in a file that
      looks names up on that namespace with ``getattr`` (``getattr(torch, name)``, ``getattr(F, name)``,
      ``getattr(x, name)`` on a tensor): tests parametrised over op names.
    """
    if not names:
        return set()
    alt = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    found = set()
    if namespace == "torch.Tensor":
        pats = [re.compile(r"[\w\)\]](?<!\btorch)(?<!\bember)(?<!\blib)(?<!\bnp)(?<!\bF)(?<!\bnn)\.(" + alt +
                           r")\b")]
    else:
        sub = namespace[len("torch"):]  # '' or '.nn.functional'
        prefixes = [re.escape("torch" + sub), re.escape("ember" + sub)] + [re.escape(a) for a in ALIASES.get(namespace, [])]
        prefixes.append(re.escape("lib" + sub))  # ``for lib in (torch, ember): lib.nn.Linear(...)``
        pats = [re.compile(r"(?<![\w.])(?:" + "|".join(prefixes) + r")\.(" + alt + r")\b"),
                re.compile(r"from (?:torch|ember)" + re.escape(sub) + r" import ([\w, ()\n]+)")]
    quoted = re.compile(r"[\"'](" + alt + r")[\"']") if namespace in _GETATTR else None
    nameset = set(names)
    for text in texts:
        for i, pat in enumerate(pats):
            for m in pat.finditer(text):
                if i == 1:  # an import list
                    found.update(w for w in re.findall(r"\w+", m.group(1)) if w in nameset)
                else:
                    found.add(m.group(1))
        if quoted is not None and _GETATTR[namespace].search(text):
            found.update(m.group(1) for m in quoted.finditer(text))
    return found & nameset


def user_facing_coverage(torch, namespaces=USER_NAMESPACES, root=None):
    """``{namespace: (counted, missing)}`` where counted names are provided by Ember and tested against torch."""
    texts = oracle_sources(root)
    out = {}
    for ns in namespaces:
        try:
            names = user_facing_names(torch, ns)
        except ImportError:
            continue
        provided = [n for n in names if ember_provides(ns, n)]
        tested = tested_names(ns, provided, texts)
        have = [n for n in names if n in tested]
        out[ns] = (have, [n for n in names if n not in tested])
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m ember.compat.report",
                                description="Which public PyTorch names Ember provides (needs PyTorch).")
    p.add_argument("--missing", action="store_true", help="list only the missing names")
    p.add_argument("--summary", action="store_true", help="print only the coverage per namespace")
    p.add_argument("--json", metavar="FILE", help="also write the lists as JSON")
    p.add_argument("--user-facing", action="store_true",
                   help="only torch's user-facing functions and classes, counted when a test exercises them "
                        "against torch")
    args = p.parse_args(argv)
    torch = _import_real_torch()
    if torch is None:
        print("ember.compat.report needs PyTorch installed (pip install torch): it reads the list of names "
              "from the real torch.", file=sys.stderr)
        return 2
    cov = user_facing_coverage(torch) if args.user_facing else coverage(torch)
    print(format_report(cov, missing_only=args.missing, summary_only=args.summary,
                        label="tested" if args.user_facing else "provided"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({ns: {"provided": h, "missing": m, "coverage": round(_percent(h, m), 2)}
                       for ns, (h, m) in cov.items()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m ember.compat.report``: which public PyTorch names Ember provides, namespace by namespace.

Needs PyTorch installed: the list of names comes from the real ``torch``. A name counts as provided when
a program run by ``ember run`` can use it -- ``torch.nn.X`` resolves through the import hook to an Ember
object (not to a stand-in for a missing module). Public names are a module's ``__all__`` when it has one,
else the names ``dir()`` shows without a leading underscore (less imported helpers such as ``typing``
names and foreign modules), plus in both cases the module's own submodules (``torch.fft``, ``torch.nn.init``);
for ``torch.Tensor``, its attributes without a leading underscore.

Options: ``--missing`` lists only what is missing; ``--summary`` prints only the percentages;
``--json FILE`` also writes ``{namespace: {"provided": [...], "missing": [...]}}``.
"""
import argparse
import importlib
import json
import sys
import types

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


def format_report(cov, missing_only=False, summary_only=False):
    lines = []
    if not summary_only:
        for ns, (have, missing) in cov.items():
            lines.append(f"{ns}: {len(have)}/{len(have) + len(missing)} provided ({_percent(have, missing):.1f}%)")
            names = missing if missing_only else sorted(have + missing)
            marks = {n: "[x]" for n in have}
            marks.update({n: "[ ]" for n in missing})
            lines.append(_table(names, marks))
            lines.append("")
    lines.append(f"{'namespace':<22}{'provided':>10}{'total':>8}{'coverage':>10}")
    lines.append("-" * 50)
    all_have = all_total = 0
    for ns, (have, missing) in cov.items():
        total = len(have) + len(missing)
        all_have += len(have)
        all_total += total
        lines.append(f"{ns:<22}{len(have):>10}{total:>8}{_percent(have, missing):>9.1f}%")
    lines.append("-" * 50)
    lines.append(f"{'all':<22}{all_have:>10}{all_total:>8}{100.0 * all_have / max(all_total, 1):>9.1f}%")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m ember.compat.report",
                                description="Which public PyTorch names Ember provides (needs PyTorch).")
    p.add_argument("--missing", action="store_true", help="list only the missing names")
    p.add_argument("--summary", action="store_true", help="print only the coverage per namespace")
    p.add_argument("--json", metavar="FILE", help="also write the lists as JSON")
    args = p.parse_args(argv)
    torch = _import_real_torch()
    if torch is None:
        print("ember.compat.report needs PyTorch installed (pip install torch): it reads the list of names "
              "from the real torch.", file=sys.stderr)
        return 2
    cov = coverage(torch)
    print(format_report(cov, missing_only=args.missing, summary_only=args.summary))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({ns: {"provided": h, "missing": m, "coverage": round(_percent(h, m), 2)}
                       for ns, (h, m) in cov.items()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

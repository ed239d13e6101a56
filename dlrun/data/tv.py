"""The one place dlrun imports torchvision (only image datasets need it; it costs ~1 s at start-up).

torchvision 0.28.0 from PyPI is a CUDA build. On a CPU-only torch its C extension cannot load, and
`import torchvision` then fails with `RuntimeError: operator torchvision::nms does not exist`
(pytorch/vision#9085): its fake-tensor registrations need the operators' schemas, which only the
extension defines. Where the extension does not load, `import_torchvision` defines those two schemas
first (no kernels: torchvision.ops.nms still cannot run, datasets and transforms work). Where the
extension loads, it defines them itself and this does nothing."""

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

import torch

_MISSING_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_library = None  # the torch.library.Library holding our schemas, kept alive for the process


def _extension_loads(package_dir: Path) -> bool:
    """Load torchvision's C extension the way torchvision does; False where it cannot."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = package_dir / f"_C{suffix}"
        if path.exists():
            try:
                torch.ops.load_library(str(path))
                return True
            except OSError:
                return False
    return False


def _define_missing_schemas() -> None:
    global _library
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return  # not installed: the import below says so
    if _library is not None or _extension_loads(Path(spec.submodule_search_locations[0])):
        return
    _library = torch.library.Library("torchvision", "DEF")
    for schema in _MISSING_SCHEMAS.values():
        _library.define(schema)


def import_torchvision():
    """`import torchvision`, working around the missing operator schemas where needed."""
    if "torchvision" not in sys.modules:
        _define_missing_schemas()
    import torchvision

    return torchvision

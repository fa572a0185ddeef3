"""Pyroclast's scheduling core compiled to C with mypyc, used only while it matches the sources.

The scheduler's ``api``, ``framework``, ``actions`` and ``plugins`` modules (the session,
its actions and plugins: the per-task hot loop) and ``pyroclast.common.resources`` (the
resource arithmetic they run on) are plain typed Python. ``python -m
pyroclast.scheduler.build_native build`` compiles them with mypyc (from the mypy package)
(a module with a C twin, ``x.c`` beside ``x.py``, from that C source: the Python one is its
reference) into extension modules under :func:`native_dir` and writes a manifest: the digest of the
sources it compiled and the module files. Importing ``pyroclast.common`` (which every
Pyroclast module does first) calls :func:`install`, which serves those extension modules
in place of the sources, all of them or none: only when the manifest's digest is the
digest of the sources now (an edited source makes the whole build stale: compiled modules
call each other directly) and the interpreter's extension suffix is the one built for.
Otherwise, or with ``PYROCLAST_NATIVE=0``, the sources run as they are. The decisions are
the same either way (a test compares the two on synthetic clusters).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

__all__ = [
    "ACTIVE",
    "COMMON",
    "SUBPACKAGES",
    "build",
    "c_twin",
    "digest",
    "install",
    "native_dir",
    "sources",
    "stale_builds",
    "status",
]

SCHEDULER = "pyroclast.scheduler"
#: The scheduler's subpackages compiled (every module but their ``__init__``).
SUBPACKAGES = ("api", "framework", "actions", "plugins")
#: The modules of ``pyroclast.common`` compiled.
COMMON = ("resources",)
MANIFEST = "manifest.json"
_OFF = ("0", "false", "no", "off")

#: Whether this process runs the compiled modules (set by :func:`install`).
ACTIVE = False


def native_dir() -> Path:
    """Where the build lives: ``PYROCLAST_NATIVE_DIR``, else ``pyroclast-native`` in the environment."""
    configured = os.environ.get("PYROCLAST_NATIVE_DIR")
    return Path(configured) if configured else Path(sys.prefix) / "pyroclast-native"


def sources() -> dict[str, Path]:
    """The compiled modules' names and source files, in a fixed order (none of the
    scheduler's when it is not installed here: then there is nothing to compile)."""
    spec = importlib.util.find_spec(SCHEDULER)
    if spec is None or spec.origin is None:
        return {}
    scheduler = Path(spec.origin).resolve().parent
    common = Path(__file__).resolve().parent
    out = {f"pyroclast.common.{name}": common / f"{name}.py" for name in COMMON}
    for sub in SUBPACKAGES:
        for path in sorted((scheduler / sub).glob("*.py")):
            if path.name != "__init__.py":
                out[f"{SCHEDULER}.{sub}.{path.stem}"] = path
    return out


def c_twin(path: Path) -> Path | None:
    """The C source built in place of a module's Python source (``x.c`` beside ``x.py``), if any:
    the Python one is then the reference the C one must equal, and is not compiled by mypyc."""
    twin = path.with_suffix(".c")
    return twin if twin.is_file() else None


def digest(modules: dict[str, Path]) -> str:
    """The sha256 of the modules (names, sources and C twins) and of the extension suffix."""
    h = hashlib.sha256(_suffix().encode())
    for name, path in modules.items():
        h.update(name.encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
        twin = c_twin(path)
        if twin is not None:
            h.update(b"c\0" + twin.read_bytes() + b"\0")
    return h.hexdigest()


def _suffix() -> str:
    return str(sysconfig.get_config_var("EXT_SUFFIX") or importlib.machinery.EXTENSION_SUFFIXES[0])


# -- using a build ------------------------------------------------------------------------
class _Finder(importlib.abc.MetaPathFinder):
    """Finds the build's extension modules (the compiled modules and their shared library)."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        file = self.files.get(fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(file))
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)


def status() -> tuple[bool, str]:
    """Whether a usable build exists, and why not when it does not."""
    if os.environ.get("PYROCLAST_NATIVE", "1").strip().lower() in _OFF:
        return False, "disabled by PYROCLAST_NATIVE"
    root = native_dir()
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except FileNotFoundError:
        return False, f"no build in {root}"
    except (OSError, ValueError) as exc:
        return False, f"unreadable manifest in {root}: {exc}"
    if manifest.get("suffix") != _suffix():
        return False, f"built for {manifest.get('suffix')}, this interpreter loads {_suffix()}"
    modules = sources()
    if not modules:
        return False, "the scheduler is not installed here"
    if manifest.get("digest") != digest(modules):
        return False, "the sources changed since the build"
    return True, str(root)


def install() -> bool:
    """Serve the compiled modules when the build matches the sources; whether it does."""
    global ACTIVE
    if ACTIVE:
        return True
    usable, _ = status()
    if not usable:
        return False
    root = native_dir()
    manifest = json.loads((root / MANIFEST).read_text())
    files = {name: root / rel for name, rel in manifest["modules"].items()}
    if not all(f.is_file() for f in files.values()):
        return False
    if any(name in sys.modules for name in files):
        return False  # (imported from the sources already: compiled ones must not mix with them)
    sys.meta_path.insert(0, _Finder(files))
    ACTIVE = True
    return True


# -- building -----------------------------------------------------------------------------
def stale_builds(out: Path, keep: Path) -> list[Path]:
    """The earlier builds in ``out`` (directories named by a digest's first 16 hex digits),
    never anything else that lives there."""
    return [
        p
        for p in out.iterdir()
        if p.is_dir() and p != keep and len(p.name) == 16 and all(c in "0123456789abcdef" for c in p.name)
    ]


_SETUP = """
import sys
from setuptools import Extension, setup
from mypyc.build import mypycify
args = sys.argv[1:]
first = args.index("--")
second = args.index("--", first + 1)
specs = (a.split("=", 1) for a in args[first + 1 : second])
plain = [Extension(n, [p], extra_compile_args=["-O2"], libraries=["m"]) for n, p in specs]
setup(
    name="pyroclast-native",
    packages=[],
    py_modules=[],
    ext_modules=mypycify(args[:first], opt_level="3", multi_file=True) + plain,
    script_args=args[second + 1 :],
)
"""


def build(out: Path | None = None, *, jobs: int | None = None) -> Path:
    """Compile the sources into ``out`` (default :func:`native_dir`); the manifest's path.

    Raises :class:`RuntimeError` with the compiler's output when the build fails.
    """
    out = out or native_dir()
    modules = sources()
    if not modules:
        raise RuntimeError("the scheduler is not installed here: nothing to compile")
    paths = [p for p in modules.values() if c_twin(p) is None]
    plain = [f"{name}={twin}" for name, p in modules.items() if (twin := c_twin(p)) is not None]
    stamp = digest(modules)
    # mypy resolves ``pyroclast.*`` imports from the namespace package's portions.
    import pyroclast

    bases = os.pathsep.join(str(Path(p).parent) for p in pyroclast.__path__)
    flags = ["--explicit-package-bases", "--namespace-packages", "--ignore-missing-imports"]
    with tempfile.TemporaryDirectory(prefix="pyroclast-native-") as tmp:
        lib = Path(tmp) / "lib"
        cmd = [
            sys.executable,
            "-c",
            _SETUP,
            *flags,
            *(str(p) for p in paths),
            "--",
            *plain,
            "--",
            "build_ext",
            "--build-lib",
            str(lib),
            "--build-temp",
            str(Path(tmp) / "temp"),
            "--parallel",
            str(jobs or os.cpu_count() or 1),
        ]
        env = {**os.environ, "MYPYPATH": bases}
        done = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"native build failed ({done.returncode}):\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
            )
        out.mkdir(parents=True, exist_ok=True)
        target = out / stamp[:16]
        if target.exists():
            shutil.rmtree(target)
        built: dict[str, str] = {}
        for so in lib.rglob(f"*{_suffix()}"):
            rel = so.relative_to(lib)
            name = ".".join(rel.parts)[: -len(_suffix())]
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(so, dest)
            built[name] = str(dest.relative_to(out))
    missing = set(modules) - set(built)
    if missing:
        raise RuntimeError(f"native build made no module for: {', '.join(sorted(missing))}")
    manifest = out / MANIFEST
    manifest.write_text(json.dumps({"digest": stamp, "suffix": _suffix(), "modules": built}, indent=1))
    for old in stale_builds(out, keep=target):
        shutil.rmtree(old, ignore_errors=True)
    return manifest

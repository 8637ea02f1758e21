"""PEP 517 backend of the wheel: maturin, after generating the gRPC stubs.

``orchestrator.v1`` (``orchestrator_pb2``, its ``.pyi`` and ``orchestrator_pb2_grpc``) is
generated from ``proto/orchestrator/v1/orchestrator.proto`` with grpcio-tools (pinned in
``pyproject.toml``'s build requirements) every time a wheel, editable install or sdist is built,
so the stubs cannot drift from the proto and are never committed. Building from an sdist, where
``proto/`` is not beside the package, uses the stubs the sdist carries.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import maturin
from maturin import (  # noqa: F401 - the hooks maturin answers unchanged
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

HERE = Path(__file__).resolve().parent.parent  # orchestrator-py/
PROTO_ROOT = HERE.parent / "proto"
PROTO = "orchestrator/v1/orchestrator.proto"
OUT = HERE / "python" / "orchestrator" / "v1"

INIT = '''"""The orchestrator service's gRPC stubs, generated from proto/orchestrator/v1/orchestrator.proto
when this wheel was built (grpcio-tools). Importing them needs the grpc extra:
pip install "orchestrator[grpc]"."""
'''


def generate() -> None:
    """Write orchestrator/v1 from proto/ (kept as is when proto/ is not there: an sdist build)."""
    if not (PROTO_ROOT / PROTO).exists():
        if not (OUT / "orchestrator_pb2.py").exists():
            raise RuntimeError(f"neither {PROTO_ROOT / PROTO} nor generated stubs in {OUT}: cannot build")
        return
    from grpc_tools import protoc

    include = Path(protoc.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        args = ["protoc", f"-I{PROTO_ROOT}", f"-I{include}", f"--python_out={tmp}", f"--pyi_out={tmp}",
                f"--grpc_python_out={tmp}", PROTO]
        if protoc.main(args) != 0:
            raise RuntimeError(f"protoc failed on {PROTO_ROOT / PROTO}")
        OUT.mkdir(parents=True, exist_ok=True)
        for name in ("orchestrator_pb2.py", "orchestrator_pb2.pyi", "orchestrator_pb2_grpc.py"):
            shutil.copyfile(Path(tmp) / "orchestrator" / "v1" / name, OUT / name)
    (OUT / "__init__.py").write_text(INIT)


def build_wheel(wheel_directory: str, config_settings: dict[str, Any] | None = None,
                metadata_directory: str | None = None) -> str:
    generate()
    return str(maturin.build_wheel(wheel_directory, config_settings, metadata_directory))


def build_editable(wheel_directory: str, config_settings: dict[str, Any] | None = None,
                   metadata_directory: str | None = None) -> str:
    generate()
    return str(maturin.build_editable(wheel_directory, config_settings, metadata_directory))


def build_sdist(sdist_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    generate()
    return str(maturin.build_sdist(sdist_directory, config_settings))

"""The built wheel ships templates, recipes and the demo dataset, and the package finds them there."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def unpacked_wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(dist)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot build the wheel here (pip wheel needs hatchling from a package index): {proc.stderr[-300:]}")
    (wheel,) = dist.glob("lrsql-*.whl")
    root = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(root)
    return root


def test_wheel_carries_the_resources(unpacked_wheel):
    data = unpacked_wheel / "lrsql_plugin" / "_data"
    assert {p.name for p in (data / "templates").iterdir()} >= {"schema.sql.j2", "schema_link.j2", "sql_generation.j2", "system.yaml"}
    assert (data / "recipes" / "schema_link_qlora.yaml").is_file()
    assert (data / "recipes" / "deepspeed" / "ds_z2_config.json").is_file()
    assert (data / "datasets" / "demo" / "database" / "lakeside_hospital" / "lakeside_hospital.sqlite").is_file()


def test_installed_package_converts_its_demo_from_the_wheel(unpacked_wheel, tmp_path):
    code = (
        "import sys; from lrsql_plugin.resources import resource_dir; import lrsql_plugin\n"
        "assert lrsql_plugin.__file__.startswith(sys.argv[1]), lrsql_plugin.__file__\n"
        "print(resource_dir('templates')); print(resource_dir('datasets'))\n"
        "from lrsql_plugin.cli.convert import main\n"
        "main(['spider', '--spider-dir', str(resource_dir('datasets') / 'demo'), '--questions', 'train.json',"
        " '--out', sys.argv[2], '--quiet'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(unpacked_wheel), str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(unpacked_wheel), "PATH": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    templates, datasets = proc.stdout.splitlines()[:2]
    assert templates == str(unpacked_wheel / "lrsql_plugin" / "_data" / "templates")
    assert datasets == str(unpacked_wheel / "lrsql_plugin" / "_data" / "datasets")
    assert "48 of 48 questions converted" in proc.stdout
    assert (tmp_path / "out" / "dataset_info.json").is_file()

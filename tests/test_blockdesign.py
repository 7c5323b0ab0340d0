"""Block design description, its Tcl, the overlay manifest checks and the no-Vivado path."""

import json

import pytest

from pynq_ia import blockdesign, convert, hwbuild, models
from pynq_ia.compress import Quantization


@pytest.fixture(scope="module")
def jet_hls_project(tmp_path_factory):
    model = models.jet_dnn(Quantization(bits=6))
    directory = tmp_path_factory.mktemp("bd") / "jet_dnn"
    return convert.hls_project("jet_dnn", model, directory=directory)


@pytest.mark.parametrize("design", hwbuild.DESIGNS)
def test_tracked_tcl_is_written_from_the_description(design):
    assert hwbuild.tcl_path(design).read_text() == blockdesign.write_tcl(
        hwbuild.block_design(design)
    ), "run `make -C hw_builds tcl`"


@pytest.mark.parametrize("design", hwbuild.DESIGNS)
def test_essentials(design):
    d = hwbuild.block_design(design)
    tcl = blockdesign.write_tcl(d)
    checks = {c.what: c for c in blockdesign.check_tcl(tcl, d)}
    assert all(c.ok for c in checks.values()), [c for c in checks.values() if not c.ok]
    assert checks["HP0 enabled"].found == "1"
    assert checks["DMA scatter-gather"].found == "0"
    assert checks["DMA MM2S stream width"].found == "16" == str(d.ip.input_width)
    assert checks["DMA S2MM stream width"].found == "16" == str(d.ip.output_width)
    assert checks["DMA base address"].found == "0x40400000"
    assert checks["FCLK0 [MHz]"].found == "100"


@pytest.mark.slow
def test_tcl_matches_the_hls_project(jet_hls_project):
    d = hwbuild.block_design("jet_dnn")
    checks = {
        c.what: c
        for c in blockdesign.check_tcl(blockdesign.write_tcl(d), d, jet_hls_project.directory)
    }
    assert checks["HLS clock period = FCLK0 period [ns]"].found == "10"
    assert checks["IP input port width"].ok and checks["IP output port width"].ok
    # a project built for hls4ml's default 5 ns clock is caught
    project_tcl = jet_hls_project.directory / "project.tcl"
    original = project_tcl.read_text()
    project_tcl.write_text(original.replace("set clock_period 10.0", "set clock_period 5"))
    try:
        with pytest.raises(ValueError, match="HLS clock period"):
            blockdesign.assert_consistent(
                blockdesign.check_tcl(blockdesign.write_tcl(d), d, jet_hls_project.directory)
            )
    finally:
        project_tcl.write_text(original)


@pytest.mark.parametrize(
    ("edit", "what"),
    [
        (("CONFIG.c_include_sg {0}", "CONFIG.c_include_sg {1}"), "DMA scatter-gather"),
        (("CONFIG.PCW_USE_S_AXI_HP0 {1}", "CONFIG.PCW_USE_S_AXI_HP0 {0}"), "HP0 enabled"),
        (
            ("CONFIG.c_m_axis_mm2s_tdata_width {16}", "CONFIG.c_m_axis_mm2s_tdata_width {32}"),
            "DMA MM2S stream width",
        ),
        (
            ("CONFIG.c_m_axi_mm2s_data_width {32}", "CONFIG.c_m_axi_mm2s_data_width {16}"),
            "DMA memory-map width >= 32",
        ),
        (("offset 0x40400000", "offset 0x41e00000"), "DMA base address"),
        (("FCLK_CLK0 (100 MHz)} Freq", "FCLK_CLK0 (50 MHz)} Freq"), "every clock is FCLK0 at"),
    ],
)
def test_a_wrong_tcl_is_caught(edit, what):
    d = hwbuild.block_design("jet_dnn")
    tcl = blockdesign.write_tcl(d)
    assert edit[0] in tcl
    bad = {c.what for c in blockdesign.check_tcl(tcl.replace(edit[0], edit[1]), d) if not c.ok}
    assert what in bad


def test_hwh_parameters_are_what_pynq_reads():
    dma = hwbuild.block_design("mnist_cnn").dma
    params = dma.hwh_parameters()
    assert params["c_include_sg"] == "0" and params["c_micro_dma"] == "0"
    assert params["c_include_mm2s"] == params["c_include_s2mm"] == "1"
    assert params["c_m_axi_mm2s_data_width"] == "32"
    assert int(params["c_sg_length_width"]) == 26 and dma.max_transfer_bytes == 2**26 - 1
    assert blockdesign.DMA_REGISTERS["S2MM_LENGTH"] == 0x58
    assert blockdesign.DMA_REGISTERS["MM2S_SA"] == 0x18


def test_bytes_per_frame():
    assert hwbuild.block_design("jet_dnn").bytes_per_frame() == (32, 10)
    assert hwbuild.block_design("mnist_cnn").bytes_per_frame() == (1568, 20)


def _fake_overlay(folder, design="jet_dnn"):
    """Overlay-shaped files written by the test (never a placeholder in the repository)."""
    folder.mkdir(parents=True, exist_ok=True)
    bit, hwh = hwbuild.overlay_files(design, folder)
    bit.write_bytes(b"\x00\x09\x0f\xf0" * 64)
    hwh.write_text("<EDKSYSTEM/>")
    manifest = {
        "design": design,
        "sha256": {bit.name: hwbuild.sha256_file(bit), hwh.name: hwbuild.sha256_file(hwh)},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return bit, hwh


def test_manifest_verification_good(tmp_path):
    _fake_overlay(tmp_path)
    assert hwbuild.verify_overlay("jet_dnn", tmp_path)["design"] == "jet_dnn"


def test_manifest_verification_missing(tmp_path):
    with pytest.raises(hwbuild.OverlayError, match="make -C hw_builds jet_dnn"):
        hwbuild.verify_overlay("jet_dnn", tmp_path)
    bit, hwh = _fake_overlay(tmp_path)
    hwh.unlink()
    with pytest.raises(hwbuild.OverlayError, match="partner"):
        hwbuild.verify_overlay("jet_dnn", tmp_path)


def test_manifest_verification_corrupted(tmp_path):
    bit, _ = _fake_overlay(tmp_path)
    bit.write_bytes(bit.read_bytes()[:-1] + b"\x01")
    with pytest.raises(hwbuild.OverlayError, match="does not match its manifest"):
        hwbuild.verify_overlay("jet_dnn", tmp_path)


def test_overlay_without_manifest_is_refused(tmp_path):
    _fake_overlay(tmp_path)
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(hwbuild.OverlayError, match="without manifest"):
        hwbuild.verify_overlay("jet_dnn", tmp_path)


def test_no_vivado_gives_one_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert hwbuild.main(["build", "jet_dnn"]) == 2
    error = capsys.readouterr().err
    assert "vivado_hls and vivado" in error and "2019.2 or 2020.1" in error
    assert "board files" in error and "Traceback" not in error


def test_no_overlays_are_tracked(repo_root):
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files", "hw_builds"], cwd=repo_root, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [f for f in tracked if f.endswith((".bit", ".hwh"))]


@pytest.mark.slow
def test_board_package(tmp_path, capsys):
    import tarfile

    import numpy as np

    tarball = hwbuild.package("mnist_cnn", test_frames=50, folder=tmp_path / "package")
    folder = tmp_path / "package"
    assert "packaging without an overlay" in capsys.readouterr().out  # none built here
    assert not list(folder.glob("*.bit"))  # never a placeholder overlay
    for module in hwbuild.BOARD_MODULES:
        assert (folder / "pynq_ia" / module).is_file()
    notebook = folder / f"{hwbuild.BOARD_CHAPTER}.ipynb"
    assert notebook.is_file() and '"cells"' in notebook.read_text()
    with np.load(folder / "test_data.npz") as data:
        assert data["x"].shape == (50, 784) and data["hls4ml_scores"].shape == (50, 10)
        assert list(data["class_names"]) == [str(d) for d in range(10)]
    with tarfile.open(tarball) as archive:
        assert "mnist_cnn_board_package/test_data.npz" in archive.getnames()


def test_board_modules_need_only_numpy_and_pynq():
    import ast
    from pathlib import Path

    allowed = {
        "numpy",
        "pynq",
        "pynq_ia",
        "matplotlib",
        "__future__",
        "json",
        "time",
        "re",
        "dataclasses",
        "pathlib",
        "typing",
        "os",
        "hashlib",
        "collections",
    }
    package_dir = Path(hwbuild.__file__).parent
    for module in hwbuild.BOARD_MODULES:
        tree = ast.parse((package_dir / module).read_text())
        # module-level imports: what importing the module on the board needs (functions the
        # board chapter does not call may import more, lazily)
        for node in tree.body:
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert roots <= allowed, (module, roots)
            if "pynq_ia" in roots and isinstance(node, ast.ImportFrom):
                imported = node.module.split(".")[1] + ".py" if "." in node.module else None
                assert imported is None or imported in hwbuild.BOARD_MODULES, (module, node.module)

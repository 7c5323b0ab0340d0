"""Block design description, its Tcl, the overlay manifest checks and the no-Vivado path."""

from dataclasses import replace

import pytest

from pynq_ia import blockdesign, board_package, designs, hwbuild
from pynq_ia.board.overlays import OverlayError

REPO_ROOT = hwbuild.artifacts.REPO_ROOT
REAL_OVERLAYS = REPO_ROOT.parent / "shared" / "hwh"


@pytest.mark.parametrize("design", designs.overlays())
def test_tracked_tcl_is_written_from_the_description(design):
    assert hwbuild.tcl_path(design).read_text() == blockdesign.write_tcl(
        hwbuild.block_design(design)
    ), "run `make -C hw_builds tcl`"


@pytest.mark.parametrize("design", designs.overlays())
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
def test_tcl_matches_the_hls_project(compiled_jet_dnn):
    project, _ = compiled_jet_dnn
    d = hwbuild.block_design("jet_dnn")
    checks = {
        c.what: c
        for c in blockdesign.check_tcl(blockdesign.write_tcl(d), d, project.directory)
    }
    assert checks["HLS clock period = FCLK0 period [ns]"].found == "10"
    assert checks["IP input port width"].ok and checks["IP output port width"].ok
    # a project built for hls4ml's default 5 ns clock is caught
    project_tcl = project.directory / "project.tcl"
    original = project_tcl.read_text()
    project_tcl.write_text(original.replace("set clock_period 10.0", "set clock_period 5"))
    try:
        with pytest.raises(ValueError, match="HLS clock period"):
            blockdesign.assert_consistent(
                blockdesign.check_tcl(blockdesign.write_tcl(d), d, project.directory)
            )
    finally:
        project_tcl.write_text(original)


#: edits of the hls4ml overlay's Tcl, and the check that must fail
WRONG_TCL = [
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
    (("\nassign_bd_address\n", "\n"), "addresses assigned before the DMA offset"),
    (
        ("CONFIG.c_s_axis_s2mm_tdata_width.VALUE_SRC USER", ""),
        "DMA stream widths are user values",
    ),
    (("get_board_parts -quiet", "get_board_parts"), "board files checked first"),
    (
        ("[get_bd_pins axi_dma/s2mm_prmry_reset_out_n]", "[get_bd_pins axi_dma/s2mm_introut]"),
        "IP reset by the system AND the DMA's stream resets",
    ),
    (("CONFIG.C_OPERATION {and}", "CONFIG.C_OPERATION {or}"),
     "IP reset by the system AND the DMA's stream resets"),
]


def test_the_rtl_overlay_is_the_hls_overlay_with_the_verilog_in_place_of_the_ip():
    hls, rtl = hwbuild.block_design("jet_dnn"), hwbuild.block_design("jet_dnn_rtl")
    assert (rtl.design, rtl.ip.kind, rtl.ip.module) == ("jet_dnn_rtl", blockdesign.RTL_MODULE,
                                                         "jet_dnn_axis")
    assert (rtl.dma, rtl.fclk0_mhz, rtl.ip_reset_by_dma) == (hls.dma, hls.fclk0_mhz, True)
    assert rtl.ip.output_type is None  # the logits' type: known once da4ml wrote the core
    tcl = blockdesign.write_tcl(rtl)
    assert "vivado_hls" not in tcl and "xilinx.com:hls:" not in tcl
    assert "create_bd_cell -type module -reference jet_dnn_axis nn" in tcl
    checks = {c.what: c for c in blockdesign.check_tcl(tcl, rtl)}
    assert "network IP" not in checks and checks["network RTL module (cell)"].ok
    with pytest.raises(ValueError, match="no RTL variant"):
        blockdesign.describe_rtl("mnist_cnn")
    assert designs.overlay_design("jet_dnn_rtl") is designs.design("jet_dnn")
    assert designs.overlays()[-1] == "jet_dnn_rtl"


#: and the RTL overlay's own
WRONG_RTL_TCL = [
    (("-reference jet_dnn_axis nn", "-reference nn_axis nn"), "network RTL module (cell)"),
    (("add_files -norecurse [glob -directory $rtl_dir *.v]\n", ""),
     "its Verilog added and ordered before the module reference"),
    (("set_property top jet_dnn_rtl_wrapper [current_fileset]\n", ""),
     "the block design's wrapper is the top (not a Verilog module)"),
    (("if {[llength $system_reset] != 1} {", "if {0} {"),
     "IP reset by the system AND the DMA's stream resets"),
    (("[get_bd_intf_pins nn/m_axis]", "[get_bd_intf_pins nn/s_axis]"), "stream IP -> DMA"),
    (("[get_bd_pins ip_reset/Res] [get_bd_pins nn/aresetn]",
      "[get_bd_pins ip_reset/Res] [get_bd_pins nn/ap_rst_n]"),
     "IP reset by the system AND the DMA's stream resets"),
]


@pytest.mark.parametrize(
    ("overlay", "edit", "what"),
    [("jet_dnn", *case) for case in WRONG_TCL] + [("jet_dnn_rtl", *case) for case in WRONG_RTL_TCL],
)
def test_a_wrong_tcl_is_caught(overlay, edit, what):
    d = hwbuild.block_design(overlay)
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


def test_a_missing_overlay_says_how_to_build_it(tmp_path):
    with pytest.raises(OverlayError, match="make -C hw_builds jet_dnn"):
        hwbuild.verify_overlay("jet_dnn", tmp_path)


@pytest.mark.parametrize(
    ("design", "settings", "bad"),
    [
        # the original project's overlays: float words on 32-bit streams, as described
        ("mnist_dnn", replace(designs.design("mnist_dnn").hls, float_io=True), set()),
        # the course's 16-bit words are not what these overlays have
        ("mnist_dnn", designs.design("mnist_dnn").hls,
         {"DMA c_m_axis_mm2s_tdata_width", "DMA c_s_axis_s2mm_tdata_width"}),
    ],
)
@pytest.mark.parametrize("overlay", ["PYNQ_DMA_DNN_float", "PYNQ_DMA_CNN_float"])
def test_hwh_is_compared_with_the_description(overlay, design, settings, bad):
    hwh = REAL_OVERLAYS / f"{overlay}.hwh"
    if not hwh.is_file():
        pytest.skip(f"the real overlays are not here ({REAL_OVERLAYS}: see its README)")
    checks = hwbuild.compare_hwh(hwh, blockdesign.describe(design, settings))
    assert {c.what for c in checks if not c.ok} == bad
    assert len(checks) > 15  # every parameter of hwh_parameters() was compared


COMPONENT = """<?xml version="1.0" encoding="UTF-8"?>
<spirit:component xmlns:spirit="http://www.spiritconsortium.org/XMLSchema/SPIRIT/1685-2009">
  <spirit:vendor>xilinx.com</spirit:vendor>
  <spirit:library>hls</spirit:library>
  <spirit:name>{name}</spirit:name>
  <spirit:version>1.0</spirit:version>
</spirit:component>
"""


def test_the_exported_ip_is_checked_before_vivado_runs(tmp_path):
    design = hwbuild.block_design("jet_dnn")
    log = tmp_path / "vivado_hls.log"
    with pytest.raises(hwbuild.HardwareBuildError, match="exported no IP.*vivado_hls.log"):
        hwbuild.exported_ip(tmp_path, design, log)
    (tmp_path / "component.xml").write_text(COMPONENT.format(name="mnist_cnn_axi"))
    with pytest.raises(hwbuild.HardwareBuildError, match="instantiates xilinx.com:hls:jet_dnn_axi"):
        hwbuild.exported_ip(tmp_path, design, log)
    (tmp_path / "component.xml").write_text(COMPONENT.format(name="jet_dnn_axi"))
    assert hwbuild.exported_ip(tmp_path, design, log) == "xilinx.com:hls:jet_dnn_axi:1.0"


def test_no_vivado_gives_one_clear_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert hwbuild.main(["build", "jet_dnn"]) == 2
    error = capsys.readouterr().err
    assert "vivado_hls and vivado" in error and "2019.2 or 2020.1" in error
    assert "board files" in error and "Traceback" not in error
    # the RTL overlay needs Vivado only, and says so
    assert hwbuild.main(["build", "jet_dnn_rtl"]) == 2
    error = capsys.readouterr().err
    assert "needs vivado on PATH: install Vivado 2019.2 or 2020.1" in error, error


def test_no_overlays_are_tracked(repo_root):
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files", "hw_builds"], cwd=repo_root, capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [f for f in tracked if f.endswith((".bit", ".hwh"))]




def test_a_board_package_without_overlays_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(hwbuild, "HW_BUILDS", tmp_path)  # no design has an overlay here
    assert board_package.main(["--out", str(tmp_path / "dist")]) == 2
    error = capsys.readouterr().err
    assert "no design has a verified overlay" in error and "EMULATION=1" in error
    assert not list((tmp_path / "dist").glob("*.whl"))


@pytest.mark.slow
@pytest.mark.course_cache  # packages the course's trained designs, as the chapters left them
def test_emulation_package(tmp_path):
    import zipfile

    wheel = board_package.package(emulation=True, out_dir=tmp_path)
    assert wheel.name.startswith("pynq_ia_board_emulation-")  # never mistaken for the board's
    names = zipfile.ZipFile(wheel).namelist()
    python = {n for n in names if n.endswith(".py")}
    # the board folder and the package's init, nothing of the host side
    assert python == {"pynq_ia/__init__.py", "pynq_ia/board/notebooks/__init__.py"} | {
        f"pynq_ia/board/{p.name}" for p in (REPO_ROOT / "pynq_ia" / "board").glob("*.py")
    }
    for design in designs.names():
        for file in ("manifest.json", "test_data.npz", f"{design}_csim.so"):
            assert f"pynq_ia/board/designs/{design}/{file}" in names, (design, file)
    assert "pynq_ia/board/notebooks/08_pynq_dma_inference.ipynb" in names
    assert not [n for n in names if ".copy" in n]  # no worker copies of the IP libraries
    metadata = next(n for n in names if n.endswith("entry_points.txt"))
    assert "pynq_ia = pynq_ia.board.notebooks" in zipfile.ZipFile(wheel).read(metadata).decode()


def _built_overlay(tmp_path, *, wns: float, dsp: int):
    """An overlay folder as `make -C hw_builds jet_dnn` leaves it: .bit, .hwh, the two routed
    reports (in Vivado's layout) and a manifest naming all four with their sha256."""
    import json

    from vivado_fixtures import timing_report, utilization_report

    from pynq_ia import vivado_reports
    from pynq_ia.board.overlays import sha256_file

    folder, d = tmp_path / "jet_dnn", hwbuild.block_design("jet_dnn")
    folder.mkdir()
    (folder / "jet_dnn.bit").write_bytes(b"\x00\x09\x0f\xf0" * 64)  # written by the test
    (folder / "jet_dnn.hwh").write_text("<EDKSYSTEM/>")
    (folder / d.timing_report).write_text(timing_report(wns=wns))
    (folder / d.utilization_report).write_text(utilization_report(dsp=dsp))
    post_route = vivado_reports.read_reports(folder / d.timing_report,
                                             folder / d.utilization_report)
    files = ["jet_dnn.bit", "jet_dnn.hwh", d.timing_report, d.utilization_report]
    manifest = {"design": "jet_dnn", "kind": "overlay", "io": d.io(), "post_route": post_route,
                "sha256": {name: sha256_file(folder / name) for name in files}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_a_built_overlays_post_route_figures_reach_the_tables(tmp_path, monkeypatch):
    from pynq_ia import estimate, results

    folder = _built_overlay(tmp_path, wns=0.25, dsp=33)
    monkeypatch.setattr(hwbuild, "HW_BUILDS", tmp_path)
    post_route = hwbuild.post_route("jet_dnn")
    assert post_route["timing"]["met"] and post_route["utilization"]["DSP"]["used"] == 33
    assert post_route["timing"]["fmax_mhz"] == pytest.approx(1000 / 9.75, abs=1e-3)
    shares = {"BRAM_18K": 1.0, "DSP": 2.0, "FF": 3.0, "LUT": 4.0}
    metrics = {"jet_dnn": {"resources": {"share_percent": shares, "latency_us": 0.1,
                                         "source": estimate.RULE4ML_ESTIMATE}}}
    table = results.resource_table(metrics)
    assert table.loc["jet_dnn (overlay)", "DSP [%]"] == round(100 * 33 / 220, 1)
    assert "Vivado (post-route)" in table.loc["jet_dnn (overlay)", "source"]
    # a report changed since the build: the overlay no longer matches its manifest
    (folder / hwbuild.block_design("jet_dnn").timing_report).write_text("edited")
    assert hwbuild.post_route("jet_dnn") is None
    assert "jet_dnn (overlay)" not in results.resource_table(metrics).index


def test_the_tcl_refuses_a_bitstream_that_misses_timing_and_the_check_says_so():
    d = hwbuild.block_design("jet_dnn")
    tcl = blockdesign.write_tcl(d)
    checks = {c.what: c for c in blockdesign.check_tcl(tcl, d)}
    assert checks["no bitstream copied unless setup and hold slack >= 0"].ok
    assert checks["routed timing and utilization reported"].ok
    # the gate moved after the copy, or a report missing: the checks fail
    gate = tcl[tcl.index("set wns"):tcl.index("# the overlay: bitstream")]
    late = tcl.replace(gate, "") + gate
    assert not {c.what: c for c in blockdesign.check_tcl(late, d)}[
        "no bitstream copied unless setup and hold slack >= 0"].ok
    no_report = tcl.replace("report_utilization -file", "# report_utilization -file")
    assert not {c.what: c for c in blockdesign.check_tcl(no_report, d)}[
        "routed timing and utilization reported"].ok

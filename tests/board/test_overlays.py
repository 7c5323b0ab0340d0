"""Design folders and their manifests: every damaged or incomplete one is refused clearly."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from pynq_ia.board import overlays
from pynq_ia.board.overlays import OverlayError, read_manifest, verify_overlay
from pynq_ia.board.sessions import open_design

IO = {"n_in": 16, "n_out": 5, "input": "ap_fixed<16,6,AP_RND_CONV,AP_SAT>",
      "output": "ap_fixed<16,1,AP_RND_CONV,AP_SAT>"}


def _fake_overlay(folder, design="jet_dnn", **manifest_changes):
    """Overlay-shaped files written by the test (never a placeholder in the repository)."""
    folder.mkdir(parents=True, exist_ok=True)
    bit, hwh = folder / f"{design}.bit", folder / f"{design}.hwh"
    bit.write_bytes(b"\x00\x09\x0f\xf0" * 64)
    hwh.write_text("<EDKSYSTEM/>")
    manifest = {
        "design": design,
        "kind": "overlay",
        "io": IO,
        "sha256": {p.name: overlays.sha256_file(p) for p in (bit, hwh)},
        **manifest_changes,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return bit, hwh


def test_a_good_overlay_is_verified(tmp_path):
    bit, _ = _fake_overlay(tmp_path)
    assert verify_overlay(bit)["design"] == "jet_dnn"


def test_a_missing_partner_or_manifest_is_refused(tmp_path):
    bit, hwh = _fake_overlay(tmp_path)
    hwh.unlink()
    with pytest.raises(OverlayError, match="partner"):
        verify_overlay(bit)
    _fake_overlay(tmp_path)
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(OverlayError, match="without manifest.json"):
        verify_overlay(bit)


def test_a_corrupted_file_is_refused(tmp_path):
    bit, _ = _fake_overlay(tmp_path)
    bit.write_bytes(bit.read_bytes()[:-1] + b"\x01")
    with pytest.raises(OverlayError, match="does not match its manifest"):
        verify_overlay(bit)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "is empty"),
        (b'{"design": "jet_dnn", "io": {"n_in": 1', "not valid JSON"),
        (b"[1, 2, 3]", "JSON list, not an object"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (json.dumps({"design": "jet_dnn", "sha256": {}}).encode(), "no 'io' section"),
    ],
    ids=["empty", "truncated", "a list", "not UTF-8", "no io"],
)
def test_a_malformed_manifest_names_the_file_and_the_problem(tmp_path, content, match):
    path = tmp_path / "manifest.json"
    path.write_bytes(content)
    with pytest.raises(OverlayError, match=match) as caught:
        read_manifest(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"io": {**IO, "n_in": 0}}, "io.n_in is 0"),
        ({"io": {**IO, "n_out": "5"}}, "io.n_out is '5'"),
        ({"io": {k: v for k, v in IO.items() if k != "output"}}, "io.output"),
        ({"io": {**IO, "input": "ap_fixed<18,8>"}}, "io.input"),
        ({"sha256": {"jet_dnn.bit": "abc"}}, "is not a sha256"),
        ({"kind": "bitstream"}, "kind 'bitstream'"),
    ],
)
def test_a_manifest_without_what_the_driver_needs_is_refused(tmp_path, change, match):
    bit, _ = _fake_overlay(tmp_path, **change)
    with pytest.raises(OverlayError, match=match):
        verify_overlay(bit)


def test_an_overlay_design_runs_on_a_board_only(tmp_path):
    _fake_overlay(tmp_path / "jet_dnn")
    assert overlays.designs_in(tmp_path) == [tmp_path / "jet_dnn"]
    with pytest.raises(OverlayError, match="not a PYNQ board.*EMULATION=1"):
        open_design(tmp_path / "jet_dnn")


def test_board_detection_reads_the_device_tree(tmp_path):
    compatible = tmp_path / "compatible"
    compatible.write_bytes(b"tul,pynq-z2\x00xlnx,zynq-7000\x00")
    assert overlays.running_on_board(compatible)
    compatible.write_bytes(b"raspberrypi,4-model-b\x00")
    assert not overlays.running_on_board(compatible)
    assert not overlays.running_on_board(tmp_path / "missing")


def test_a_damaged_emulation_bundle_is_refused(tmp_path, jet_bundle):
    bundle = tmp_path / "jet_dnn"
    shutil.copytree(jet_bundle, bundle)
    library = bundle / read_manifest(bundle / "manifest.json")["ip_library"]
    library.write_bytes(library.read_bytes()[: library.stat().st_size // 2])  # a full disk
    with pytest.raises(OverlayError, match="jet_dnn_csim.so does not match its manifest"):
        open_design(bundle)
    shutil.copy2(jet_bundle / library.name, library)
    (bundle / "weights" / "w2.txt").unlink()
    with pytest.raises(OverlayError, match="w2.txt: missing"):
        open_design(bundle)


def test_test_data_that_does_not_fit_the_design_is_refused(tmp_path, jet_bundle):
    bundle = tmp_path / "jet_dnn"
    shutil.copytree(jet_bundle, bundle)
    manifest = read_manifest(bundle / "manifest.json")
    with np.load(bundle / "test_data.npz") as data:
        arrays = dict(data)
    arrays["x"] = arrays["x"][:, :15]
    np.savez(bundle / "test_data.npz", **arrays)
    manifest["sha256"]["test_data.npz"] = overlays.sha256_file(bundle / "test_data.npz")
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(OverlayError, match=r"do not fit the design's 16 -> 5"):
        open_design(bundle)

"""Reference overlays: local copies or a download, used only with the sha256 of the source.

The download itself cannot run here (no internet but package registries): ``urlopen`` serves
the bytes of the local copies in ``../shared/hwh`` instead, or fails, or serves other bytes.
"""

from __future__ import annotations

import io
import shutil
import urllib.error
import urllib.request

import pytest

from pynq_ia.board.reference_overlays import OVERLAYS_ENV, ReferenceOverlayUnavailable, find

NAME = "PYNQ_DMA_DNN_float"


@pytest.fixture
def local_copies(real_overlay, monkeypatch):
    """The folder of the real overlays, named by the environment variable."""
    monkeypatch.setenv(OVERLAYS_ENV, str(real_overlay.parent))
    return real_overlay.parent


def test_local_copies_are_used_when_their_sha256_matches(local_copies):
    bit = find(NAME)
    assert bit == local_copies / f"{NAME}.bit" and bit.with_suffix(".hwh").is_file()


def test_a_damaged_local_copy_is_refused_not_replaced(tmp_path, local_copies, monkeypatch):
    for suffix in (".bit", ".hwh"):
        shutil.copyfile(local_copies / f"{NAME}{suffix}", tmp_path / f"{NAME}{suffix}")
    (tmp_path / f"{NAME}.hwh").write_text("<EDKSYSTEM/>")
    monkeypatch.setenv(OVERLAYS_ENV, str(tmp_path))
    with pytest.raises(ReferenceOverlayUnavailable, match=f"{OVERLAYS_ENV}/{NAME}.hwh is damaged"):
        find(NAME)
    assert (tmp_path / f"{NAME}.hwh").read_text() == "<EDKSYSTEM/>"


def _serve(folder, calls, replace_with=None):
    def urlopen(url, timeout):
        assert url.startswith("https://raw.githubusercontent.com/Gabriele-bot/PYNQ_IA/f77db009")
        calls.append(url.rsplit("/", 1)[1])
        data = replace_with if replace_with is not None else (folder / calls[-1]).read_bytes()
        return io.BytesIO(data)

    return urlopen


def test_a_download_is_checked_and_cached(tmp_path, local_copies, monkeypatch):
    monkeypatch.delenv(OVERLAYS_ENV)
    calls = []
    monkeypatch.setattr(urllib.request, "urlopen", _serve(local_copies, calls))
    bit = find(NAME, cache=tmp_path)
    assert bit == tmp_path / f"{NAME}.bit" and calls == [f"{NAME}.bit", f"{NAME}.hwh"]
    find(NAME, cache=tmp_path)
    assert len(calls) == 2  # the cache, checked again, is enough
    (tmp_path / f"{NAME}.hwh").write_bytes(b"cut sh")  # a damaged cache entry: fetched again
    find(NAME, cache=tmp_path)
    assert calls[2:] == [f"{NAME}.hwh"]


def test_other_bytes_or_no_network_give_a_way_out(tmp_path, local_copies, monkeypatch):
    monkeypatch.delenv(OVERLAYS_ENV)
    monkeypatch.setattr(urllib.request, "urlopen", _serve(local_copies, [], b"<html>moved"))
    with pytest.raises(ReferenceOverlayUnavailable, match="does not match its sha256"):
        find(NAME, cache=tmp_path)
    assert not list(tmp_path.iterdir())  # nothing unchecked stays behind

    def offline(url, timeout):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    way_out = f"download .* failed .* set {OVERLAYS_ENV}"
    with pytest.raises(ReferenceOverlayUnavailable, match=way_out):
        find(NAME, cache=tmp_path)
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="no reference overlay 'PYNQ_DMA_MLP'"):
        find("PYNQ_DMA_MLP")


"""The Sphinx site builds with warnings as errors."""

import pathlib
import subprocess
import sys

import pytest

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"


def test_sphinx_builds_without_warnings(tmp_path):
    pytest.importorskip("sphinx", reason="install the docs extra: pip install '.[docs]'")
    pytest.importorskip("myst_parser", reason="install the docs extra: pip install '.[docs]'")
    out = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html",
                          "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    html = tmp_path / "html"
    for page in ("user_guide", "api", "architecture", "benchmarks", "troubleshooting"):
        assert (html / f"{page}.html").exists(), page
    assert (html / "generated" / "dasknn.MLPClassifier.html").exists()
    assert "benchmarks.png" in (html / "benchmarks.html").read_text()

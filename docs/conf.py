"""Sphinx configuration of the dasknn documentation (build: sphinx-build -W docs out)."""

import dasknn

project = "dasknn"
author = "the dasknn developers"
release = dasknn.__version__
extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "generated/*.md"]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
myst_heading_anchors = 3
html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_title = "dasknn"
intersphinx_mapping = {}
suppress_warnings = ["myst.xref_missing"]

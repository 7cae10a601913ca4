"""The example scenarios, shipped in the package as ``ppsim.scenarios``.

``ppsim examples [DIR]`` copies them out of an installed ppsim; in a source
tree this folder is the package (see ``[tool.setuptools.package-dir]`` in
pyproject.toml), so there is one copy of each file.
"""

"""Package layout for setuptools; the project's metadata and dependencies are in pyproject.toml.

The top-level ``resources/`` folder (class lists, the demo model and its card) stays the source of the
files the app needs at run time; it is installed as the package ``engine.resource_files`` so that a
wheel, a zipped install and an editable checkout all find it through ``importlib.resources``
(``engine/resources.py``). pyproject.toml alone cannot map one folder under another package's name
while also discovering the rest, hence this file. README pictures (``resources/screenshots``) stay out.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["app", "app.*", "engine", "engine.*"]),
              "engine.resource_files", "engine.resource_files.models"],
    package_dir={"engine.resource_files": "resources"},
    package_data={"engine.resource_files": ["*.txt"], "engine.resource_files.models": ["*.pt", "*.md"]},
)

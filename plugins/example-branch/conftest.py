"""Lets the tests import the plugin from this folder even before `pip install -e .`."""

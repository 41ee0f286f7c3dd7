"""musicnn's MSD taggers converted to torch (ISC, see the NOTICE), shipped as package data.

A package of its own, so that setuptools installs the weight files without warnings.
"""

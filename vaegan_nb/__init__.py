"""vaegan-nb: the shared code of the notebook series."""
__version__ = "0.1.0"

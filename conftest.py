"""Test-wide settings, for every path pytest is pointed at (tests/ and notebooks/ alike).

Plain ``pytest --nbval notebooks/`` then runs the notebooks in the fast ``ci`` profile, and
pyproject's addopts add the nbval sanitizers, exactly as ``make test`` does.
"""

import os

# Set before anything imports vaegan_nb; the nbval kernels inherit it from this process.
os.environ["VAEGAN_PROFILE"] = "ci"
os.environ.setdefault("MPLBACKEND", "Agg")
# Two cores: one intra-op thread per process keeps the kernel and pytest from fighting over them.
os.environ.setdefault("OMP_NUM_THREADS", "2")

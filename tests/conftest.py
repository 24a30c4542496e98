"""Test-wide settings: the fast ``ci`` profile, for the unit tests and the nbval kernels alike."""

import os

# Set before anything imports vaegan_nb; the nbval kernels inherit it from this process.
os.environ["VAEGAN_PROFILE"] = "ci"
os.environ.setdefault("MPLBACKEND", "Agg")
# Two cores: one intra-op thread per process keeps the kernel and pytest from fighting over them.
os.environ.setdefault("OMP_NUM_THREADS", "2")

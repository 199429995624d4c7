"""bedsvc: hospital bed availability for a regency or city."""

__version__ = "0.1.0"

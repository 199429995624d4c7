"""Drop-in bridges: the Aplicares- and SIRS Online-compatible interfaces a SIMRS already speaks.

Both write through `bedsvc.ingest.write` exactly as the native push API does.
"""

"""The Kemenkes SIRS Online (RS Online) Fasyankes bed interface, for SIMRS that report to it."""

"""Relay to the national registries: a hospital reports to bedsvc once, and bedsvc forwards
its current state to Kemenkes SIRS Online and BPJS Aplicares in their own protocols."""

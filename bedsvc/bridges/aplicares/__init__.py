"""The BPJS Aplicares bed interface (aplicaresws/rest), for SIMRS that already report to it."""

"""The demo region (Kota Cirebon) and simulated hospital systems."""

"""Ward staff of hospitals without a SIMRS: personal sign-in, sessions, the entry page's
CSV upload."""

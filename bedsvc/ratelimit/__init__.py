"""Rate limits shared by every worker and instance: per credential, and per client address."""

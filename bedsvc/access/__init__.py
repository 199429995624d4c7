"""Who is calling: API keys, ward-staff sessions, the guards, the real client address."""

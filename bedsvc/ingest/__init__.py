"""Hospital systems push occupancy: the native API, and the service the bridges share."""

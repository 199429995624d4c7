"""The citizens' page and the health office's dashboard: static files served by bedsvc itself,
so they work on a regional network without internet access."""

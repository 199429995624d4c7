"""Current availability shared by the workers: the Redis cache, its coherence with PostgreSQL
and each worker's change feed."""

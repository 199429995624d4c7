"""Running the service: processes, embedded servers, logs, background tasks, graceful stop."""

"""Storage: the database engine and sessions, the tables, their migrations, backup and health checks."""

-- Runs once, when the postgres container initialises an empty data directory
-- (mounted into /docker-entrypoint-initdb.d by docker-compose.yml).
-- Each service owns its own database; all are owned by the ciam role (POSTGRES_USER).
CREATE DATABASE auth OWNER ciam;
CREATE DATABASE profile OWNER ciam;
CREATE DATABASE consent OWNER ciam;
CREATE DATABASE notifier OWNER ciam;

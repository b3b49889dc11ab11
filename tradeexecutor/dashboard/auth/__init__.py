"""Dashboard logins: users in a small SQL database, scrypt password hashes, signed session
cookies, CSRF tokens on every form and a login rate limit. Standard library plus SQLAlchemy."""

"""Configuration: .env files, splicing and validation, secret redaction."""

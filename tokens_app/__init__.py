"""Personal access tokens for Django."""

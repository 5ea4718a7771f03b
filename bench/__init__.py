"""``make bench``: token auth against session auth on one endpoint, under gunicorn."""

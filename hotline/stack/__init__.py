"""Install and run the platform's parts: Asterisk, Redis and the Python services."""

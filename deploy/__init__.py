"""The deploy layer: installs and runs Asterisk, Redis and the services; the `hotline` CLI wiring."""

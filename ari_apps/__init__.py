"""ari_apps package."""

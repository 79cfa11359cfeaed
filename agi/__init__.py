"""agi package."""

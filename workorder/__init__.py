"""workorder package."""

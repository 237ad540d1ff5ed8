"""Requirements and recommendations tests."""

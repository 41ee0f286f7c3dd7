"""Neural networks and their training loop."""

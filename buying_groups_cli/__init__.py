"""buying-groups."""

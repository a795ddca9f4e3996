"""Agent-based simulator of the bone-marrow microenvironment."""

"""What the dashboard's pages need beyond the reports: selections, formatting, colours."""

"""reader_agent."""

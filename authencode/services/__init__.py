"""Domain services: functions that take a SQLAlchemy Session, raise DomainError, never commit."""

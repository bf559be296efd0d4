"""The LINE chatbot: webhook, event dispatch, Thai messages, rich menus, outbox sender."""

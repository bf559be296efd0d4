"""The LIFF pages patients open inside LINE, and their JSON API."""

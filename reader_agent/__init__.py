"""The card-reader agent: reads Thai national ID cards on a staff PC and serves the
NHSO-compatible local API on 127.0.0.1:8189.

Installed on its own (``pip install .[agent]``); it talks to the Authen Code server over
HTTP(S) only and imports nothing of the server side.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"

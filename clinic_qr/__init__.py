"""The clinic staff web app: accounts, per-service QR codes, visits, reports, hospital API."""

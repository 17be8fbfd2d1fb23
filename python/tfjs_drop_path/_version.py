"""The twin's version: written from package.json by scripts/sync-version.js."""
__version__ = "0.4.0"

"""The version shared by glompo-core and every first-party plugin distribution."""

__version__ = "0.1.0"

"""ChatterTrack agent: counts input (never which key), seals time slices, delivers them once."""

__version__ = "0.1.0"

"""Keras 3 twins of tfjs-drop-path's layers (issue 12, first part: DropPath)."""
from tfjs_drop_path.layers import DropPath

__all__ = ["DropPath"]
__version__ = "0.3.0"

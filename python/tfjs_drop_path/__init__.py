"""Keras 3 twins of tfjs-drop-path's layers and its rate scheduler."""
from tfjs_drop_path._version import __version__
from tfjs_drop_path.layers import DropPath, StochasticResidual
from tfjs_drop_path.schedules import DropPathScheduler, constant, drop_layers, early, late, linear_warmup

__all__ = ["DropPath", "StochasticResidual", "DropPathScheduler", "constant", "linear_warmup", "early", "late",
           "drop_layers", "__version__"]

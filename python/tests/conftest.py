"""Two logical CPU devices for the distribution tests, set up before Keras' backend starts: XLA's host platform
device count for JAX, logical device configurations for TensorFlow.

TensorFlow's oneDNN kernels are switched off: on some CPUs (AVX-512 ones here) the oneDNN filter gradient of a 1x1
convolution with stride 2 — a ResNet projection shortcut — corrupts the heap and aborts the process, in TensorFlow
2.21 as in the libtensorflow of tfjs-node (where this package guards it; see layers/conv_guard.ts)."""
import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402

if keras.backend.backend() == "tensorflow":
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)

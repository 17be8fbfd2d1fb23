"""The five keras.applications residual families at full size (224×224, random weights), for bench/families/measure.js.

Written with Keras' public constructors, as a user gets them (`weights=None` only because the pretrained files are
not reachable here; the architecture, and so every block, is the same). About 360 MB in all: they are not committed.

    venv/bin/python bench/families/make_full.py /tmp/families
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

FAMILIES = {"resnet50": keras.applications.ResNet50, "resnet50v2": keras.applications.ResNet50V2,
            "mobilenetv2": keras.applications.MobileNetV2, "efficientnetb0": keras.applications.EfficientNetB0,
            "convnexttiny": keras.applications.ConvNeXtTiny}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    info = {}
    for name, ctor in FAMILIES.items():
        keras.utils.set_random_seed(7)
        model = ctor(weights=None, input_shape=(224, 224, 3))
        path = os.path.join(out, f"{name}.keras")
        model.save(path)
        # Keras' own count of the residual additions: the Add layers of the functional graph.
        adds = sum(1 for layer in model.get_config()["layers"] if layer["class_name"] == "Add")
        info[name] = {"adds": adds, "params": int(model.count_params()), "bytes": os.path.getsize(path),
                      "layers": len(model.layers)}
        print(name, info[name], flush=True)
    with open(os.path.join(out, "families.json"), "w") as f:
        json.dump(info, f, indent=1)


if __name__ == "__main__":
    main()

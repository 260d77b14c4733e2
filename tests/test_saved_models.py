"""components/saved_models.py: one load per model file, a new export loads anew."""
import os
import time

from components import saved_models
from trainer_module.export import export_serving_model
from trainer_module.model import build_model


def test_the_same_export_loads_once_and_a_new_one_at_the_same_path_anew(tmp_path):
    path = str(tmp_path / "model")
    export_serving_model(build_model(), path)
    first = saved_models.load(path)
    assert saved_models.load(path) is first
    time.sleep(0.01)
    export_serving_model(build_model(), path)
    os.utime(os.path.join(path, "saved_model.pb"))  # a new modification time, whatever the clock's grain
    assert saved_models.load(path) is not first

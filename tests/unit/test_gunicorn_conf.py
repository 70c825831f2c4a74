"""The production server's worker hook keeps the application's long-lived objects out of the
garbage collector's full collections (gunicorn.conf.py)."""
import gc
import importlib.util
import pathlib

CONF = pathlib.Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def test_a_worker_freezes_what_the_loaded_application_holds():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", CONF)
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        conf.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 10_000  # the test session's modules, the application, its mappers
    finally:
        gc.unfreeze()
